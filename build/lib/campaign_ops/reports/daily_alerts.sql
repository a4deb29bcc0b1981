-- SOP "Morning Health Check" 2: check for alerts (verbatim, its 2 h bound to the SOP's line in campaign_ops.thresholds).
SELECT
  client_id,
  failed_runs_24h,
  hours_since_success
FROM de_enrollment_health
WHERE failed_runs_24h > 0
   OR hours_since_success > :hours_since_success_above;
