-- The acknowledgement holding for an alert's current incident now (the newest), if any.
SELECT id, acked_by, reason, severity, acked_at, until
  FROM alert_acks
 WHERE alert_log_id = :id AND acked_at >= :active_since AND until > :now
 ORDER BY acked_at DESC, id DESC
 LIMIT 1
