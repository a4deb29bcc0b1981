-- A group's clients whose lock could be taken for this transaction (the others are held by another worker).
SELECT s.id::text
  FROM unnest(CAST(:client_ids AS uuid[])) WITH ORDINALITY AS s(id, n)
 WHERE pg_try_advisory_xact_lock(client_lock_key(s.id))
 ORDER BY s.n
