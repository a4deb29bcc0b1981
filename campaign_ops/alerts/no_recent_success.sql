-- Active clients whose last successful de-enrollment is older than the allowed hours (SOP: over 2 h is ERROR);
-- a client that never succeeded counts from its creation (the view's definition).
SELECT client_id::text AS client_id, company_name, last_success_at, last_run_at, hours_since_success,
       total_runs_24h, failed_runs_24h, partial_runs_24h
  FROM de_enrollment_health
 WHERE hours_since_success > :max_hours
 ORDER BY hours_since_success DESC, client_id
