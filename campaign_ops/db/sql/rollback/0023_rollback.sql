-- Rollback of 0023 (issue 4): remove the drift computation and the reconciliation log (its history goes with it).
DROP FUNCTION IF EXISTS campaign_counter_drift(uuid);
DROP TABLE IF EXISTS stats_reconciliation_log;
