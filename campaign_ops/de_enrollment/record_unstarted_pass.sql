-- A pass that never got its `running` row (not reached within the budget, its lock held, interrupted or failed
-- before its start), written closed: nothing of it committed, so its counts are none.
INSERT INTO de_enrollment_runs (client_id, status, batch_size, dagster_run_id, duration_ms, error_details, finished_at)
VALUES (CAST(:client_id AS uuid), :status, :batch_size, :dagster_run_id, :duration_ms, :error_details, now())
RETURNING id::text, leads_evaluated, leads_de_enrolled, leads_skipped
