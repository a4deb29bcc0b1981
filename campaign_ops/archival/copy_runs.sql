-- Step 3: lock and copy the client's runs older than the cutoff that no live lead-log row references any more
-- (de_enrollment_lead_log.run_id is a foreign key: a run stays live while any of its lead-log rows is live).
WITH candidates AS (
    SELECT r.id, r.run_at, r.client_id, r.status, r.leads_evaluated, r.leads_de_enrolled, r.leads_skipped,
           r.duration_ms, r.error_details, r.batch_size, r.dagster_run_id, r.finished_at
      FROM de_enrollment_runs r
     WHERE r.client_id = CAST(:client_id AS uuid)
       AND r.run_at < CAST(:runs_cutoff AS timestamptz)
       AND NOT EXISTS (SELECT 1 FROM de_enrollment_lead_log l WHERE l.run_id = r.id)
       FOR UPDATE OF r
), copied AS (
    INSERT INTO de_enrollment_runs_archive
           (id, run_at, client_id, status, leads_evaluated, leads_de_enrolled, leads_skipped, duration_ms,
            error_details, batch_size, dagster_run_id, finished_at, archived_at)
    SELECT id, run_at, client_id, status, leads_evaluated, leads_de_enrolled, leads_skipped, duration_ms,
           error_details, batch_size, dagster_run_id, finished_at, now()
      FROM candidates
    RETURNING id
)
SELECT (SELECT count(*) FROM candidates) AS matched, (SELECT count(*) FROM copied) AS copied
