-- What this reconciliation logged, for its report.
SELECT l.campaign_id::text AS campaign_id, c.name AS campaign_name, l.counter, l.reported, l.actual
  FROM stats_reconciliation_log l
  JOIN campaigns c ON c.id = l.campaign_id
 WHERE l.reconciliation_id = CAST(:reconciliation_id AS uuid)
 ORDER BY abs(l.difference) DESC, c.name, l.counter
