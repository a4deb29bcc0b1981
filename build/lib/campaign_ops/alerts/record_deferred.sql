-- A message not attempted in this dispatch (its delivery time budget was used up): owed from now on, no attempt
-- counted.
UPDATE alert_logs
   SET pending_kind    = :kind,
       next_attempt_at = :now,
       last_error      = :error,
       updated_at      = :now
 WHERE id = ANY (CAST(:ids AS bigint[]))
