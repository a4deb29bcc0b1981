-- Make sure the (alert_type, alert_key) row exists, so that it can be locked; a concurrent insert waits here.
INSERT INTO alert_logs (alert_type, alert_key, severity, resource_id, title, message, last_payload,
                        created_at, updated_at)
VALUES (:alert_type, :alert_key, :severity, :resource_id, :title, :message, CAST(:payload AS jsonb), :now, :now)
ON CONFLICT (alert_type, alert_key) DO NOTHING
