-- Open alerts (an incident not yet resolved) of one type whose key starts with a prefix (and is one of
-- :only_keys when given), except the keys still firing: the candidates for resolution, locked.
SELECT id, alert_type, alert_key, severity, active_since, last_sent_at, resolved_at, escalated_at,
       pending_kind, next_attempt_at, attempt_count, last_payload,
       (SELECT d.severity FROM alert_deliveries d
          WHERE d.alert_log_id = alert_logs.id AND d.status IN ('sent', 'logged')
          ORDER BY d.id DESC LIMIT 1) AS last_sent_severity
  FROM alert_logs
 WHERE alert_type = :alert_type
   AND resolved_at IS NULL AND active_since IS NOT NULL
   AND starts_with(alert_key, :key_prefix)
   AND (CAST(:only_keys AS text[]) IS NULL OR alert_key = ANY (CAST(:only_keys AS text[])))
   AND NOT (alert_key = ANY (CAST(:keep_keys AS text[])))
 ORDER BY alert_key
   FOR UPDATE
