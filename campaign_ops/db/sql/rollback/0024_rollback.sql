-- Rollback of 0024 (issue 4): remove the lead history view and the archives (archived rows go with them:
-- move them back into the live tables first if they must be kept).
DROP VIEW IF EXISTS de_enrollment_lead_history;
DROP TABLE IF EXISTS de_enrollment_lead_log_archive;
DROP TABLE IF EXISTS de_enrollment_runs_archive;
DROP INDEX IF EXISTS de_enrollment_lead_log_client_processed_idx;
