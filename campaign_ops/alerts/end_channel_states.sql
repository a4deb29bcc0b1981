-- The incidents of these alerts are over: nothing is owed on any paging channel any more. Returns the channels
-- told about the incident (they get a "resolved" message).
UPDATE alert_channel_states
   SET pending_kind = NULL, next_attempt_at = NULL, attempt_count = 0, updated_at = :now
 WHERE alert_log_id = :id AND channel = ANY (CAST(:channels AS text[]))
RETURNING channel, last_sent_at >= CAST(:active_since AS timestamptz) AS told
