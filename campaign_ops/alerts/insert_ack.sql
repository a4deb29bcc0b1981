INSERT INTO alert_acks (alert_log_id, acked_by, reason, severity, acked_at, until)
VALUES (:id, :acked_by, :reason, :severity, :now, :until)
RETURNING id
