-- A silence withheld the message: recorded, nothing owed.
UPDATE alert_logs
   SET delivery_status = 'silenced', pending_kind = NULL, next_attempt_at = NULL, attempt_count = 0,
       updated_at = :now
 WHERE id = ANY (CAST(:ids AS bigint[]))
