-- A message reached its channel (Slack, or the log when no Slack is configured).
UPDATE alert_logs
   SET delivery_status      = :status,
       severity             = :severity,
       first_sent_at        = COALESCE(first_sent_at, :now),
       last_sent_at         = :now,
       delivered_at         = :now,
       send_count           = send_count + 1,
       escalated_at         = CASE WHEN :kind = 'escalation' THEN :now ELSE escalated_at END,
       resolved_notified_at = CASE WHEN :kind = 'resolved' THEN :now ELSE resolved_notified_at END,
       pending_kind         = NULL,
       next_attempt_at      = NULL,
       attempt_count        = 0,
       last_error           = NULL,
       silenced_digest      = NULL,
       updated_at           = :now
 WHERE id = ANY (CAST(:ids AS bigint[]))
