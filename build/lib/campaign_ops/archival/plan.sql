-- Dry run: what an archival of the client would move now, without changing anything.
SELECT (SELECT count(*)
          FROM de_enrollment_lead_log
         WHERE client_id = CAST(:client_id AS uuid)
           AND processed_at < CAST(:lead_log_cutoff AS timestamptz)) AS lead_log_rows,
       count(*) FILTER (WHERE NOT r.keeps_live_logs) AS runs,
       count(*) FILTER (WHERE r.keeps_live_logs) AS runs_kept
  FROM (SELECT EXISTS (SELECT 1
                         FROM de_enrollment_lead_log l
                        WHERE l.run_id = r.id
                          AND NOT (l.client_id = CAST(:client_id AS uuid)
                                   AND l.processed_at < CAST(:lead_log_cutoff AS timestamptz))) AS keeps_live_logs
          FROM de_enrollment_runs r
         WHERE r.client_id = CAST(:client_id AS uuid)
           AND r.run_at < CAST(:runs_cutoff AS timestamptz)) AS r
