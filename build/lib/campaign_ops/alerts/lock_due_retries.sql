-- Messages owed after a failed delivery whose next attempt is due; rows another tick holds are skipped.
SELECT id, alert_type, alert_key, severity, active_since, last_sent_at, resolved_at, escalated_at,
       pending_kind, next_attempt_at, attempt_count, last_payload,
       (SELECT d.severity FROM alert_deliveries d
          WHERE d.alert_log_id = alert_logs.id AND d.status IN ('sent', 'logged')
          ORDER BY d.id DESC LIMIT 1) AS last_sent_severity
  FROM alert_logs
 WHERE pending_kind IS NOT NULL
   AND next_attempt_at <= :now
   AND NOT (id = ANY (CAST(:skip_ids AS bigint[])))
 ORDER BY next_attempt_at, id
 LIMIT :limit
   FOR UPDATE SKIP LOCKED
