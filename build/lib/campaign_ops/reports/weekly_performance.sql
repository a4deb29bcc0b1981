-- SOP "Weekly Review" 1: weekly performance summary (verbatim).
SELECT
  DATE(run_at) as date,
  COUNT(*) as runs,
  COUNT(*) FILTER (WHERE status = 'success') as successful,
  SUM(leads_de_enrolled) as total_processed,
  AVG(duration_ms)::integer as avg_duration_ms
FROM de_enrollment_runs
WHERE run_at > NOW() - INTERVAL '7 days'
GROUP BY DATE(run_at)
ORDER BY date DESC;
