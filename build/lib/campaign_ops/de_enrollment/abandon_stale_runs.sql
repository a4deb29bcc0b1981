-- Called while holding the client's lock: any other 'running' row of this client belongs to a worker that died
-- (a live worker would hold the lock), so it is closed as failed rather than left 'running' for ever.
UPDATE de_enrollment_runs
   SET status = 'failed',
       error_details = 'abandoned: the worker stopped before finishing (found still running by a later pass)',
       finished_at = now()
 WHERE client_id = CAST(:client_id AS uuid)
   AND status = 'running'
   AND id <> CAST(:run_id AS uuid)
