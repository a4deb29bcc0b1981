-- Rollback of 0043: the paging channels' delivery rows go with their channels.
DELETE FROM alert_deliveries WHERE channel IN ('sms', 'pagerduty');
ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_channel_known;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_channel_known
    CHECK (channel IN ('slack_webhook', 'slack_api', 'log', 'none'));
DROP TABLE IF EXISTS alert_sensor_ticks;
DROP TABLE IF EXISTS alert_acks;
DROP TABLE IF EXISTS alert_channel_states;
