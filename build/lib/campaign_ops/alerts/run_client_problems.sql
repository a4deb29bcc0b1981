-- Client passes of the given Dagster runs that did not succeed (the "partial" and "failed" of de-enrollment).
SELECT r.dagster_run_id, r.client_id::text AS client_id, c.company_name, r.status, r.error_details,
       r.leads_evaluated, r.leads_de_enrolled
  FROM de_enrollment_runs r
  LEFT JOIN clients c ON c.id = r.client_id
 WHERE r.dagster_run_id = ANY (CAST(:run_ids AS text[]))
   AND r.status IN ('partial', 'failed')
 ORDER BY r.dagster_run_id, r.status, c.company_name, r.client_id
