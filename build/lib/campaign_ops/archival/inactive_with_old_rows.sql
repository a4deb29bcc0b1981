-- Inactive clients that still have monitoring rows past retention: retention is by age for every client, so a
-- full sweep archives theirs too (their partitions are gone, nothing else would ever move them).
SELECT c.id::text AS client_id
  FROM clients c
 WHERE NOT c.is_active
   AND (EXISTS (SELECT 1 FROM de_enrollment_lead_log l
                 WHERE l.client_id = c.id AND l.processed_at < CAST(:lead_log_cutoff AS timestamptz))
        OR EXISTS (SELECT 1 FROM de_enrollment_runs r
                    WHERE r.client_id = c.id AND r.run_at < CAST(:runs_cutoff AS timestamptz)))
 ORDER BY c.id
