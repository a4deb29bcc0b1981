-- Rollback of 0041: the pause's table, its guard triggers and the skipped message's correction.
DROP TRIGGER IF EXISTS de_enrollment_lead_log_skipped_message ON de_enrollment_lead_log;
DROP FUNCTION IF EXISTS de_enrollment_skipped_message();
DROP TRIGGER IF EXISTS de_enrollment_lead_log_archive_refuse_while_paused ON de_enrollment_lead_log_archive;
DROP TRIGGER IF EXISTS de_enrollment_runs_archive_refuse_while_paused ON de_enrollment_runs_archive;
DROP TRIGGER IF EXISTS stats_reconciliation_log_refuse_while_paused ON stats_reconciliation_log;
DROP TRIGGER IF EXISTS de_enrollment_runs_refuse_while_paused ON de_enrollment_runs;
DROP TRIGGER IF EXISTS de_enrollment_lead_log_refuse_while_paused ON de_enrollment_lead_log;
DROP FUNCTION IF EXISTS refuse_while_paused();
DROP FUNCTION IF EXISTS processing_pause_lock_key();
DROP TABLE IF EXISTS processing_pauses;
