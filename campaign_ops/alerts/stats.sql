-- Seed 004's alert statistics over the last N hours, from the delivery log (one row per message handed to a
-- channel or withheld by a silence). The main channel's rows only: an alert that also paged someone by SMS or
-- PagerDuty is still one alert.
SELECT a.alert_type,
       d.severity,
       d.kind,
       d.status,
       a.alert_key,
       a.resource_id
  FROM alert_deliveries d
  JOIN alert_logs a ON a.id = d.alert_log_id
 WHERE d.attempted_at > CAST(:now AS timestamptz) - make_interval(hours => :hours)
   AND d.channel NOT IN ('sms', 'pagerduty')
