-- The passes of clients with nothing due, in one statement: under each client's lock (transaction level, so it
-- excludes a concurrent pass holding the session lock), the client is counted again (de_enrollment_pass_counts);
-- if still nothing is due its pass is recorded 'success' with its true counts, if its lock is held 'skipped' (at
-- once: a quiet client never waits for a lock). Clients that became due since the triage are returned with
-- recorded = false and get a full pass.
WITH scope AS MATERIALIZED (
    SELECT s.id, pg_try_advisory_xact_lock(client_lock_key(s.id)) AS locked
      FROM unnest(CAST(:client_ids AS uuid[])) AS s(id)
), counted AS (
    SELECT s.id, s.locked, coalesce(k.evaluated, 0) AS evaluated, coalesce(k.skipped, 0) AS skipped,
           k.invalid_campaigns, coalesce(k.due, 0) AS due
      FROM scope s
      LEFT JOIN de_enrollment_pass_counts(CAST(:client_ids AS uuid[])) k ON k.client_id = s.id AND s.locked
), abandoned AS (
    -- as start_passes.sql: a 'running' row of a client whose lock we hold belongs to a worker that died
    UPDATE de_enrollment_runs r
       SET status = 'failed',
           error_details = 'abandoned: the worker stopped before finishing (found still running by a later pass)',
           finished_at = now()
      FROM counted k
     WHERE r.client_id = k.id AND k.locked AND k.due = 0 AND r.status = 'running'
), recorded AS (
    INSERT INTO de_enrollment_runs (client_id, status, batch_size, dagster_run_id, leads_evaluated,
                                    leads_de_enrolled, leads_skipped, duration_ms, error_details, finished_at)
    SELECT k.id,
           CASE WHEN k.locked THEN 'success' ELSE 'skipped' END,
           :batch_size, :dagster_run_id,
           k.evaluated, 0, k.skipped,
           (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::int,
           CASE WHEN NOT k.locked
                THEN 'another worker is de-enrolling this client (its lock is held); skipped'
                WHEN k.skipped > 0
                THEN k.skipped || ' leads skipped: messages is not a JSON array in ' || k.invalid_campaigns END,
           now()
      FROM counted k
     WHERE NOT k.locked OR k.due = 0
    RETURNING id, client_id, status, leads_evaluated, leads_skipped, duration_ms, error_details
)
SELECT r.client_id::text, true AS recorded, r.id::text AS run_row_id, r.status, r.leads_evaluated::int,
       r.leads_skipped::int, r.duration_ms, r.error_details
  FROM recorded r
UNION ALL
SELECT k.id::text, false, NULL, NULL, NULL, NULL, NULL, NULL
  FROM counted k
 WHERE k.locked AND k.due > 0
