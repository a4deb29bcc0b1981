-- A silence withheld the message: nothing owed. `recorded` says whether this differs from the last silenced
-- record of the alert (kind, severity, silence, text: the digest) and so deserves a delivery row of its own.
WITH previous AS (
    SELECT id, silenced_digest FROM alert_logs WHERE id = ANY (CAST(:ids AS bigint[]))
)
UPDATE alert_logs AS a
   SET delivery_status = 'silenced', pending_kind = NULL, next_attempt_at = NULL, attempt_count = 0,
       silenced_digest = :digest,
       updated_at = :now
  FROM previous AS p
 WHERE a.id = p.id
RETURNING a.id, p.silenced_digest IS DISTINCT FROM :digest AS recorded
