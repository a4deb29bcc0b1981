-- Other sessions still writing: those in a transaction that passed the pause's check (they hold its lock, shared)
-- and those holding a client's lock (a de-enrollment or reconciliation pass), with since when (their transaction, or
-- their session when between transactions).
SELECT a.pid, coalesce(a.xact_start, a.backend_start) AS since, a.application_name,
       string_agg(DISTINCT coalesce('the lock of client ' || c.company_name, 'a write begun before the pause'), ', ')
           AS holding
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
  LEFT JOIN clients c ON client_lock_key(c.id) = ((l.classid::bigint << 32) | l.objid::bigint)
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid <> pg_backend_pid()
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND (c.id IS NOT NULL OR ((l.classid::bigint << 32) | l.objid::bigint) = processing_pause_lock_key())
 GROUP BY a.pid, a.xact_start, a.backend_start, a.application_name
 ORDER BY since
