-- A de_enrollment_runs row for one client's pass, committed before the work so a failure can be recorded on it.
INSERT INTO de_enrollment_runs (client_id, status, batch_size, dagster_run_id)
VALUES (CAST(:client_id AS uuid), :status, :batch_size, :dagster_run_id)
RETURNING id::text
