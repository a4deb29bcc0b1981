-- Paging-channel messages owed after a failed delivery whose next attempt is due, with the alert they are about;
-- rows another tick holds are skipped.
SELECT s.channel, a.id, a.alert_type, a.alert_key, a.severity, a.active_since, a.last_payload,
       s.pending_kind, s.attempt_count
  FROM alert_channel_states s
  JOIN alert_logs a ON a.id = s.alert_log_id
 WHERE s.pending_kind IS NOT NULL
   AND s.next_attempt_at <= :now
   AND s.channel = ANY (CAST(:channels AS text[]))
   AND NOT (s.alert_log_id = ANY (CAST(:skip_ids AS bigint[])))
 ORDER BY s.next_attempt_at, s.alert_log_id
 LIMIT :limit
   FOR UPDATE SKIP LOCKED
