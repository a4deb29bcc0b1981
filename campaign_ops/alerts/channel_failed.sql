-- A delivery to a paging channel failed: the message stays owed there and is tried again from next_attempt_at on.
INSERT INTO alert_channel_states AS s (alert_log_id, channel, pending_kind, next_attempt_at, attempt_count,
                                       last_error, updated_at)
SELECT ids.id, :channel, :kind, :next_attempt_at, 1, :error, :now
  FROM unnest(CAST(:ids AS bigint[])) AS ids (id)
    ON CONFLICT (alert_log_id, channel) DO UPDATE
   SET pending_kind    = :kind,
       next_attempt_at = :next_attempt_at,
       attempt_count   = s.attempt_count + 1,
       last_error      = :error,
       updated_at      = :now
