-- The client passes of the given Dagster runs that tell how each client fared: 'success', 'partial', 'failed',
-- and 'skipped' (another worker held its lock: the run says nothing about the client's health).
SELECT r.dagster_run_id, r.client_id::text AS client_id, c.company_name, r.status, r.error_details,
       r.leads_evaluated, r.leads_de_enrolled
  FROM de_enrollment_runs r
  LEFT JOIN clients c ON c.id = r.client_id
 WHERE r.dagster_run_id = ANY (CAST(:run_ids AS text[]))
   AND r.status IN ('success', 'partial', 'failed', 'skipped')
 ORDER BY r.dagster_run_id, r.status, c.company_name, r.client_id
