-- Rollback of 0022: remove the alert log.
DROP TABLE IF EXISTS alert_logs;
