-- Rollback of 0027: remove the lifecycle campaign tables.
DROP TABLE IF EXISTS lifecycle_campaign_metrics;
DROP TABLE IF EXISTS lifecycle_notification_logs;
DROP TABLE IF EXISTS lifecycle_campaign_schedules;
