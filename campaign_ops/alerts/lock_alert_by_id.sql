-- One alert by its id (as `alerts list` shows it), locked: an acknowledgement and a tick's decision don't cross.
SELECT id, alert_type, alert_key, severity, title, active_since, resolved_at
  FROM alert_logs
 WHERE id = :id
   FOR UPDATE
