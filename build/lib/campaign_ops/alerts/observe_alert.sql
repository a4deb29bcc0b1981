-- One observation of a firing alert; a new incident starts the incident columns afresh.
UPDATE alert_logs
   SET severity        = :severity,
       resource_id     = :resource_id,
       title           = :title,
       message         = :message,
       last_payload    = CAST(:payload AS jsonb),
       last_seen_at    = :now,
       seen_count      = seen_count + 1,
       active_since    = CASE WHEN :new_incident THEN :now ELSE active_since END,
       resolved_at     = CASE WHEN :new_incident THEN NULL ELSE resolved_at END,
       escalated_at    = CASE WHEN :new_incident THEN NULL ELSE escalated_at END,
       pending_kind    = CASE WHEN :new_incident THEN NULL ELSE pending_kind END,
       next_attempt_at = CASE WHEN :new_incident THEN NULL ELSE next_attempt_at END,
       attempt_count   = CASE WHEN :new_incident THEN 0 ELSE attempt_count END,
       silenced_digest = CASE WHEN :new_incident THEN NULL ELSE silenced_digest END,
       updated_at      = :now
 WHERE id = :id
