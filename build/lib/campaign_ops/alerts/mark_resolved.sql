-- The incident is over; a "resolved" message, if one is owed, is recorded by record_delivered/record_failed.
UPDATE alert_logs
   SET resolved_at = :now, pending_kind = NULL, next_attempt_at = NULL, attempt_count = 0, updated_at = :now
 WHERE id = :id
