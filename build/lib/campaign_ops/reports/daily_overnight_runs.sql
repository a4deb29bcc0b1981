-- SOP "Morning Health Check" 1: check overnight runs (verbatim).
SELECT
  COUNT(*) as total_runs,
  COUNT(*) FILTER (WHERE status = 'success') as successful,
  COUNT(*) FILTER (WHERE status = 'failed') as failed,
  COUNT(*) FILTER (WHERE status = 'partial') as partial,
  SUM(leads_de_enrolled) as total_processed
FROM de_enrollment_runs
WHERE run_at > NOW() - INTERVAL '24 hours';
