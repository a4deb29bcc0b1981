-- Step 4: delete from the live table only the runs whose archive copy (made by this transaction) is identical.
WITH deleted AS (
    DELETE FROM de_enrollment_runs r
     USING de_enrollment_runs_archive a
     WHERE a.id = r.id
       AND a.archived_at = now()
       AND r.client_id = CAST(:client_id AS uuid)
       AND r.run_at < CAST(:runs_cutoff AS timestamptz)
       AND (a.run_at, a.client_id, a.status, a.leads_evaluated, a.leads_de_enrolled, a.leads_skipped,
            a.duration_ms, a.error_details, a.batch_size, a.dagster_run_id, a.finished_at)
           IS NOT DISTINCT FROM
           (r.run_at, r.client_id, r.status, r.leads_evaluated, r.leads_de_enrolled, r.leads_skipped,
            r.duration_ms, r.error_details, r.batch_size, r.dagster_run_id, r.finished_at)
    RETURNING 1
)
SELECT count(*) AS deleted FROM deleted
