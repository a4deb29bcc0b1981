-- Seed 004's "5 consecutive failures", applied to our own work and counted in passes: a client whose last N
-- de-enrollment passes all failed, whatever their spacing, the first and last within the window (several sweep
-- cadences). Level-triggered: it clears with the next pass that does not fail.
WITH recent AS (
    SELECT r.client_id, c.company_name, r.status, r.run_at, r.error_details,
           row_number() OVER (PARTITION BY r.client_id ORDER BY r.run_at DESC) AS n
      FROM de_enrollment_runs r
      JOIN clients c ON c.id = r.client_id AND c.is_active
     WHERE r.run_at > CAST(:now AS timestamptz) - interval '1 day'
       AND r.status <> 'running'
)
SELECT client_id::text AS client_id,
       max(company_name) AS company_name,
       max(run_at) AS last_failure_at,
       min(run_at) AS first_failure_at,
       (array_agg(error_details ORDER BY run_at DESC))[1] AS last_error
  FROM recent
 WHERE n <= :failures
 GROUP BY client_id
HAVING count(*) = :failures
   AND bool_and(status = 'failed')
   AND max(run_at) - min(run_at) <= make_interval(mins => :window_minutes)
