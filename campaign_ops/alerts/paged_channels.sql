-- The paging channels told about an alert's current incident.
SELECT s.channel
  FROM alert_channel_states s
  JOIN alert_logs a ON a.id = s.alert_log_id
 WHERE s.alert_log_id = :id AND s.last_sent_at >= a.active_since
 ORDER BY s.channel
