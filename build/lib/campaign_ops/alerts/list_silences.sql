-- Silences in force, or with include_ended also those that expired or were lifted (newest first).
SELECT s.id, s.alert_type, s.client_id::text AS client_id, c.company_name, s.starts_at, s.until, s.created_by,
       s.reason, s.created_at, s.lifted_at, s.lifted_by
  FROM alert_silences s
  LEFT JOIN clients c ON c.id = s.client_id
 WHERE :include_ended OR (s.lifted_at IS NULL AND s.starts_at <= :now AND s.until > :now)
 ORDER BY s.id DESC
 LIMIT :limit
