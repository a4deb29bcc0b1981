-- The start of passes, in one statement, for a group of clients or one client's own pass (whose session lock this
-- transaction level lock then stacks on): each client whose lock is free (transaction level, held until the
-- transaction ends; a concurrent pass holding the session lock excludes it) has its still-running rows closed (they
-- belong to a worker that died: a live one would hold the lock), what its pass examines counted
-- (de_enrollment_pass_counts; given the clients as a parameter it is inlined, and what this statement does not read,
-- the due count, is not computed) and its `running` row written with those counts. Clients whose lock is held are
-- not returned (their own pass records them `skipped`). In the given order.
WITH scope AS MATERIALIZED (
    SELECT s.id, s.n
      FROM unnest(CAST(:client_ids AS uuid[])) WITH ORDINALITY AS s(id, n)
     WHERE pg_try_advisory_xact_lock(client_lock_key(s.id))
), abandoned AS (
    UPDATE de_enrollment_runs r
       SET status = 'failed',
           error_details = 'abandoned: the worker stopped before finishing (found still running by a later pass)',
           finished_at = now()
      FROM scope s
     WHERE r.client_id = s.id AND r.status = 'running'
), started AS (
    INSERT INTO de_enrollment_runs (client_id, status, batch_size, dagster_run_id, leads_evaluated, leads_skipped,
                                    error_details)
    SELECT k.client_id, 'running', :batch_size, :dagster_run_id, k.evaluated, k.skipped,
           CASE WHEN k.skipped > 0
                THEN k.skipped || ' leads skipped: messages is not a JSON array in ' || k.invalid_campaigns END
      FROM scope s
      JOIN de_enrollment_pass_counts(CAST(:client_ids AS uuid[])) k ON k.client_id = s.id
    RETURNING id, client_id, leads_evaluated, leads_skipped, error_details
)
SELECT st.client_id::text, st.id::text AS run_row_id, st.leads_evaluated, st.leads_skipped, st.error_details
  FROM started st
  JOIN scope s ON s.id = st.client_id
 ORDER BY s.n
