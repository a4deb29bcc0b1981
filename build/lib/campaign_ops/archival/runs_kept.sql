-- Runs past the cutoff that stay live because live lead-log rows still reference them (after this archival).
SELECT count(*) AS kept
  FROM de_enrollment_runs r
 WHERE r.client_id = CAST(:client_id AS uuid)
   AND r.run_at < CAST(:runs_cutoff AS timestamptz)
   AND EXISTS (SELECT 1 FROM de_enrollment_lead_log l WHERE l.run_id = r.id)
