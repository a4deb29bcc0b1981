-- End silences early (all in force when no ids are given); the rows stay as the audit trail.
UPDATE alert_silences
   SET lifted_at = :now, lifted_by = :lifted_by
 WHERE lifted_at IS NULL AND until > :now
   AND (CAST(:ids AS bigint[]) IS NULL OR id = ANY (CAST(:ids AS bigint[])))
RETURNING id
