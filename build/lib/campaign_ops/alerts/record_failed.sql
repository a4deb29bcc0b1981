-- A delivery failed: the message stays owed and is tried again from next_attempt_at on.
UPDATE alert_logs
   SET delivery_status = 'failed',
       last_error      = :error,
       pending_kind    = :kind,
       next_attempt_at = :next_attempt_at,
       attempt_count   = attempt_count + 1,
       updated_at      = :now
 WHERE id = ANY (CAST(:ids AS bigint[]))
