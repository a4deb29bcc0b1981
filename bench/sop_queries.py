"""The SOP's operator queries, copied verbatim: the baselines the benchmarks measure the project against, and what
the tests run on the schema to prove it still answers them. The package does not read them (its reports keep the
queries they run beside their code), so they live here, once; the tests import them from here (bench/ imports only
the package). Placeholders like '<client-uuid>' are what an operator substitutes; tests substitute real ids the
same way. psql meta-commands (\\d, \\df) are not SQL and are left out."""

SOP_BACKUP_CREATE = """
CREATE TABLE leads_backup_20241104 AS SELECT * FROM leads;
CREATE TABLE campaigns_backup_20241104 AS SELECT * FROM campaigns;
"""

SOP_READ_ONLY_QUERIES: dict[str, str] = {
    "1.2 verify backup size": """
SELECT
  pg_size_pretty(pg_total_relation_size('leads_backup_20241104')) as leads_size,
  pg_size_pretty(pg_total_relation_size('campaigns_backup_20241104')) as campaigns_size;
""",
    "1.3 baseline leads": """
SELECT
  COUNT(*) as total_leads,
  COUNT(*) FILTER (WHERE is_active = true) as active_leads,
  COUNT(*) FILTER (WHERE completed_at IS NOT NULL) as completed_leads
FROM leads;
""",
    "1.3 baseline campaigns": """
SELECT
  COUNT(*) as total_campaigns,
  SUM(active_leads_count) as sum_active_leads
FROM campaigns;
""",
    "2.2 new columns": """
SELECT
  table_name,
  column_name,
  data_type
FROM information_schema.columns
WHERE table_name IN ('leads', 'campaigns')
  AND column_name IN (
    'completed_at', 'campaign_history',
    'is_active', 'active_leads_count', 'completed_leads_count',
    'opted_out_count', 'booked_count', 'deactivated_at',
    'last_enrollment_at', 'auto_discovered'
  )
ORDER BY table_name, column_name;
""",
    "2.2 runs count": "SELECT COUNT(*) FROM de_enrollment_runs;",
    "2.2 lead log count": "SELECT COUNT(*) FROM de_enrollment_lead_log;",
    "2.2 functions": """
SELECT routine_name
FROM information_schema.routines
WHERE routine_name LIKE '%de_enrollment%';
""",
    "3.2 migrated today": """
SELECT COUNT(*) FROM leads
WHERE completed_at IS NOT NULL
  AND completed_at::date = CURRENT_DATE;
""",
    "3.2 history populated": """
SELECT
  COUNT(*) as leads_with_history,
  AVG(jsonb_array_length(campaign_history)) as avg_history_length
FROM leads
WHERE jsonb_array_length(campaign_history) > 0;
""",
    "4.2 one client": "SELECT client_id FROM campaigns LIMIT 1",
    "4.2 latest run": "SELECT * FROM de_enrollment_runs ORDER BY run_at DESC LIMIT 1",
    "5.3 latest run": "SELECT * FROM de_enrollment_runs ORDER BY run_at DESC LIMIT 1;",
    "6.1 first hour": """
SELECT
  run_at,
  client_id,
  leads_de_enrolled,
  status,
  duration_ms
FROM de_enrollment_runs
WHERE run_at > NOW() - INTERVAL '1 hour'
ORDER BY run_at DESC;
""",
    "6.2 stuck leads": """
SELECT COUNT(*) as stuck_leads
FROM leads l
JOIN campaigns c ON l.campaign_link_id = c.id
WHERE l.is_active = true
  AND l.completed_at IS NULL
  AND l.current_message_position >= jsonb_array_length(c.messages);
""",
    "6.2 stats match": """
SELECT
  c.id,
  c.name,
  c.active_leads_count as reported_active,
  COUNT(l.id) FILTER (WHERE l.is_active = true) as actual_active
FROM campaigns c
LEFT JOIN leads l ON l.campaign_link_id = c.id
GROUP BY c.id, c.name, c.active_leads_count
HAVING c.active_leads_count != COUNT(l.id) FILTER (WHERE l.is_active = true);
""",
    "daily 1 overnight runs": """
SELECT
  COUNT(*) as total_runs,
  COUNT(*) FILTER (WHERE status = 'success') as successful,
  COUNT(*) FILTER (WHERE status = 'failed') as failed,
  COUNT(*) FILTER (WHERE status = 'partial') as partial,
  SUM(leads_de_enrolled) as total_processed
FROM de_enrollment_runs
WHERE run_at > NOW() - INTERVAL '24 hours';
""",
    "daily 2 alerts": """
SELECT
  client_id,
  failed_runs_24h,
  hours_since_success
FROM de_enrollment_health
WHERE failed_runs_24h > 0
   OR hours_since_success > 2;
""",
    "daily 3 stuck": """
SELECT COUNT(*) as stuck_count
FROM leads l
JOIN campaigns c ON l.campaign_link_id = c.id
WHERE l.is_active = true
  AND l.completed_at IS NULL
  AND l.current_message_position >= jsonb_array_length(c.messages);
""",
    "weekly 1 performance": """
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
""",
    "weekly 2 growth": """
SELECT
  pg_size_pretty(pg_total_relation_size('de_enrollment_runs')) as runs_table_size,
  pg_size_pretty(pg_total_relation_size('de_enrollment_lead_log')) as log_table_size;
""",
    "weekly 3 top errors": """
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
""",
    "L1 last run": """
SELECT MAX(run_at) as last_run,
       MAX(run_at) FILTER (WHERE status = 'success') as last_success
FROM de_enrollment_runs;
""",
    "L1 verify recovery": """
SELECT * FROM de_enrollment_runs
ORDER BY run_at DESC LIMIT 1;
""",
    "L2 problem clients": """
SELECT
  client_id,
  COUNT(*) as runs,
  COUNT(*) FILTER (WHERE status = 'failed') as failures,
  array_agg(DISTINCT error_details) as errors
FROM de_enrollment_runs
WHERE run_at > NOW() - INTERVAL '24 hours'
GROUP BY client_id
HAVING COUNT(*) FILTER (WHERE status = 'failed') > 0
ORDER BY failures DESC;
""",
    "L3 duplicates": """
SELECT lead_id, COUNT(*) as count
FROM de_enrollment_lead_log
GROUP BY lead_id
HAVING COUNT(*) > 1;
""",
    "L3 stats accuracy": """
SELECT
  c.id,
  c.active_leads_count as reported,
  COUNT(l.id) FILTER (WHERE l.is_active = true) as actual,
  ABS(c.active_leads_count - COUNT(l.id) FILTER (WHERE l.is_active = true)) as diff
FROM campaigns c
LEFT JOIN leads l ON l.campaign_link_id = c.id
GROUP BY c.id
HAVING ABS(c.active_leads_count - COUNT(l.id) FILTER (WHERE l.is_active = true)) > 10;
""",
    "rollback 2 leads backup": """
SELECT
  COUNT(*) as leads_backup_count
FROM leads_backup_20241104;
""",
    "rollback 2 campaigns backup": """
SELECT
  COUNT(*) as campaigns_backup_count
FROM campaigns_backup_20241104;
""",
    "rollback 5 backups exist": "SELECT COUNT(*) FROM leads_backup_20241104;",
    "troubleshooting timeouts": """
SELECT
  client_id,
  AVG(duration_ms) as avg_ms,
  MAX(duration_ms) as max_ms,
  AVG(leads_de_enrolled) as avg_processed
FROM de_enrollment_runs
WHERE status IN ('success', 'partial')
  AND run_at > NOW() - INTERVAL '7 days'
GROUP BY client_id
ORDER BY max_ms DESC
LIMIT 10;
""",
    "troubleshooting duplicates": """
SELECT
  lead_id,
  COUNT(*) as times_processed,
  array_agg(run_id) as run_ids,
  array_agg(processed_at) as timestamps
FROM de_enrollment_lead_log
GROUP BY lead_id
HAVING COUNT(*) > 1
LIMIT 10;
""",
    "troubleshooting row locks": "SELECT * FROM pg_locks WHERE locktype = 'tuple';",
    "troubleshooting stats drift": """
SELECT
  c.id,
  c.name,
  c.active_leads_count as reported_active,
  COUNT(l.id) FILTER (WHERE l.is_active = true AND l.opted_out = false) as actual_active,
  ABS(c.active_leads_count - COUNT(l.id) FILTER (WHERE l.is_active = true AND l.opted_out = false)) as difference
FROM campaigns c
LEFT JOIN leads l ON l.campaign_link_id = c.id
GROUP BY c.id, c.name, c.active_leads_count
HAVING ABS(c.active_leads_count - COUNT(l.id) FILTER (WHERE l.is_active = true AND l.opted_out = false)) > 5
ORDER BY difference DESC;
""",
    "appendix A ready for de-enrollment": """
SELECT
  l.id,
  l.first_name,
  l.last_name,
  c.name as campaign_name,
  l.current_message_position,
  jsonb_array_length(c.messages) as total_messages
FROM leads l
JOIN campaigns c ON l.campaign_link_id = c.id
WHERE l.is_active = true
  AND l.completed_at IS NULL
  AND l.current_message_position >= jsonb_array_length(c.messages)
  AND l.client_id = '<client-uuid>'
LIMIT 10;
""",
    "appendix A lead history": """
SELECT
  l.run_id,
  r.run_at,
  l.action,
  l.outcome,
  l.messages_received,
  l.error_message
FROM de_enrollment_lead_log l
JOIN de_enrollment_runs r ON r.id = l.run_id
WHERE l.lead_id = '<lead-uuid>'
ORDER BY l.processed_at DESC;
""",
    "appendix A real-time": """
SELECT
  run_at,
  client_id,
  leads_evaluated,
  leads_de_enrolled,
  duration_ms,
  status
FROM de_enrollment_runs
WHERE run_at > NOW() - INTERVAL '5 minutes'
ORDER BY run_at DESC;
""",
}

# SOP "Fix Stats if Minor" (Level 3): a writing statement; tests run it in a transaction they roll back.
SOP_FIX_STATS = """
UPDATE campaigns c
SET
  active_leads_count = (
    SELECT COUNT(*)
    FROM leads
    WHERE campaign_link_id = c.id
      AND is_active = true
      AND opted_out = false
  ),
  completed_leads_count = (
    SELECT COUNT(*)
    FROM leads
    WHERE campaign_link_id = c.id
      AND completed_at IS NOT NULL
  );
"""

# The queries whose answer is "nothing wrong" after a full de-enrollment sweep.
SOP_STUCK_LEADS = SOP_READ_ONLY_QUERIES["6.2 stuck leads"]
SOP_STATS_MATCH = SOP_READ_ONLY_QUERIES["6.2 stats match"]
SOP_STATS_DRIFT = SOP_READ_ONLY_QUERIES["troubleshooting stats drift"]
SOP_DUPLICATES = SOP_READ_ONLY_QUERIES["L3 duplicates"]

# The SOP's quarterly index-usage query reads pg_stat_user_indexes.tablename/indexname, columns that no PostgreSQL
# version has (they are relname/indexrelname): verbatim it fails everywhere. Kept verbatim to prove that, with the
# corrected query operators should use instead (README, "Operator queries").
SOP_INDEX_USAGE_AS_WRITTEN = """
SELECT
  schemaname,
  tablename,
  indexname,
  idx_scan as index_scans,
  idx_tup_read as tuples_read,
  idx_tup_fetch as tuples_fetched
FROM pg_stat_user_indexes
WHERE schemaname = 'public'
  AND indexname LIKE '%de_enrollment%'
ORDER BY idx_scan DESC;
"""
SOP_INDEX_USAGE_CORRECTED = """
SELECT
  schemaname,
  relname AS tablename,
  indexrelname AS indexname,
  idx_scan as index_scans,
  idx_tup_read as tuples_read,
  idx_tup_fetch as tuples_fetched
FROM pg_stat_user_indexes
WHERE schemaname = 'public'
  AND indexrelname LIKE '%de_enrollment%'
ORDER BY idx_scan DESC;
"""
