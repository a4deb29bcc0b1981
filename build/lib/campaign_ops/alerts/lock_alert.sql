-- The alert's state, locked until the end of the transaction: a second sensor tick deciding about the same
-- alert waits here and then sees what the first one sent.
SELECT id, alert_type, alert_key, severity, active_since, last_sent_at, resolved_at, escalated_at,
       pending_kind, next_attempt_at, attempt_count, last_payload,
       (SELECT d.severity FROM alert_deliveries d
          WHERE d.alert_log_id = alert_logs.id AND d.status IN ('sent', 'logged')
          ORDER BY d.id DESC LIMIT 1) AS last_sent_severity
  FROM alert_logs
 WHERE alert_type = :alert_type AND alert_key = :alert_key
   FOR UPDATE
