-- The paging channels' delivery state of one alert (the caller holds its alert_logs row lock).
SELECT channel, last_sent_at, last_sent_severity, escalated_at, pending_kind, next_attempt_at, attempt_count
  FROM alert_channel_states
 WHERE alert_log_id = :id AND channel = ANY (CAST(:channels AS text[]))
   FOR UPDATE
