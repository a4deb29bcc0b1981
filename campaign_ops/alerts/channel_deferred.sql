-- A paging-channel message not attempted in this dispatch: owed from now on, no attempt counted.
INSERT INTO alert_channel_states AS s (alert_log_id, channel, pending_kind, next_attempt_at, last_error, updated_at)
SELECT ids.id, :channel, :kind, :now, :error, :now
  FROM unnest(CAST(:ids AS bigint[])) AS ids (id)
    ON CONFLICT (alert_log_id, channel) DO UPDATE
   SET pending_kind = :kind, next_attempt_at = :now, last_error = :error, updated_at = :now
