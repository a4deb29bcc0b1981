-- SOP "Weekly Review" 2: check database growth (verbatim).
SELECT
  pg_size_pretty(pg_total_relation_size('de_enrollment_runs')) as runs_table_size,
  pg_size_pretty(pg_total_relation_size('de_enrollment_lead_log')) as log_table_size;
