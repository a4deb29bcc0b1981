INSERT INTO alert_silences (alert_type, client_id, starts_at, until, created_by, reason, created_at)
VALUES (:alert_type, CAST(:client_id AS uuid), :now, :until, :created_by, :reason, :now)
RETURNING id
