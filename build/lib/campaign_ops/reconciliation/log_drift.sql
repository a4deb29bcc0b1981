-- Record every drifting counter of the client BEFORE anything is corrected (same transaction as the correction).
INSERT INTO stats_reconciliation_log
       (reconciliation_id, client_id, campaign_id, counter, reported, actual, dagster_run_id)
SELECT CAST(:reconciliation_id AS uuid), CAST(:client_id AS uuid), d.campaign_id, d.counter, d.reported, d.actual,
       :dagster_run_id
  FROM campaign_counter_drift(CAST(:client_id AS uuid)) AS d
