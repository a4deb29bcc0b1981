-- Silences in force at the given time.
SELECT id, alert_type, client_id::text AS client_id, starts_at, until, created_by, reason
  FROM alert_silences
 WHERE lifted_at IS NULL AND starts_at <= :now AND until > :now
 ORDER BY until DESC, id
