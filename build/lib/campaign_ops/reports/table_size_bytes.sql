-- The SOP's growth check in bytes, for numeric metadata and the 10 GB maintenance line.
SELECT
  pg_total_relation_size('de_enrollment_runs') as runs_table_bytes,
  pg_total_relation_size('de_enrollment_lead_log') as log_table_bytes;
