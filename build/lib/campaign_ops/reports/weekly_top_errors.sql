-- SOP "Weekly Review" 3: review top errors (verbatim).
SELECT
  error_details,
  COUNT(*) as occurrences,
  MAX(run_at) as last_seen
FROM de_enrollment_runs
WHERE status = 'failed'
  AND run_at > NOW() - INTERVAL '7 days'
GROUP BY error_details
ORDER BY occurrences DESC
LIMIT 10;
