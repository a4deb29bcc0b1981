-- A message reached a paging channel.
INSERT INTO alert_channel_states AS s (alert_log_id, channel, last_sent_at, last_sent_severity, escalated_at, updated_at)
SELECT ids.id, :channel, :now, :severity, CASE WHEN :kind = 'escalation' THEN CAST(:now AS timestamptz) END, :now
  FROM unnest(CAST(:ids AS bigint[])) AS ids (id)
    ON CONFLICT (alert_log_id, channel) DO UPDATE
   SET last_sent_at       = :now,
       last_sent_severity = :severity,
       escalated_at       = CASE WHEN :kind = 'escalation' THEN CAST(:now AS timestamptz) ELSE s.escalated_at END,
       pending_kind       = NULL,
       next_attempt_at    = NULL,
       attempt_count      = 0,
       last_error         = NULL,
       updated_at         = :now
