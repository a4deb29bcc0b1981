-- Move a client's runs older than the cutoff that no live lead-log row references any more (run after
-- move_lead_log.sql in the same transaction; de_enrollment_lead_log.run_id is a foreign key, so a run stays live
-- while any of its lead-log rows is live). Same shape as move_lead_log.sql: lock, copy, delete identical copies.
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
    RETURNING id, run_at, client_id, status, leads_evaluated, leads_de_enrolled, leads_skipped, duration_ms,
              error_details, batch_size, dagster_run_id, finished_at
), deleted AS (
    DELETE FROM de_enrollment_runs r
     USING copied c
     WHERE r.id = c.id
       AND (r.run_at, r.client_id, r.status, r.leads_evaluated, r.leads_de_enrolled, r.leads_skipped,
            r.duration_ms, r.error_details, r.batch_size, r.dagster_run_id, r.finished_at)
           IS NOT DISTINCT FROM
           (c.run_at, c.client_id, c.status, c.leads_evaluated, c.leads_de_enrolled, c.leads_skipped,
            c.duration_ms, c.error_details, c.batch_size, c.dagster_run_id, c.finished_at)
    RETURNING r.id
)
SELECT (SELECT count(*) FROM candidates) AS matched,
       (SELECT count(*) FROM copied)     AS copied,
       (SELECT count(*) FROM deleted)    AS deleted
