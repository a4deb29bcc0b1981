-- The session holding a client's lock (its advisory lock key split as pg_locks shows it), with since when.
SELECT a.pid, coalesce(a.xact_start, a.backend_start) AS since, a.state, a.application_name
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND ((l.classid::bigint << 32) | l.objid::bigint) = client_lock_key(CAST(:client_id AS uuid))
 LIMIT 1
