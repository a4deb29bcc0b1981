-- Per-client health over the last 24 hours, from the SOP's de_enrollment_health view (active clients only),
-- plus the skipped runs (the view's success rate leaves them out of its denominator).
SELECT h.client_id::text AS client_id, h.company_name, h.total_runs_24h, h.successful_runs_24h,
       h.failed_runs_24h, h.partial_runs_24h,
       (SELECT count(*) FROM de_enrollment_runs r
         WHERE r.client_id = h.client_id AND r.run_at > now() - interval '24 hours'
           AND r.status = 'skipped') AS skipped_runs_24h,
       h.success_rate_24h, h.avg_duration_ms_24h, h.leads_de_enrolled_24h, h.last_run_at, h.last_success_at,
       h.hours_since_success
  FROM de_enrollment_health h
 WHERE CAST(:client_ids AS uuid[]) IS NULL OR h.client_id = ANY(CAST(:client_ids AS uuid[]))
 ORDER BY h.company_name, h.client_id
