-- Rollback of 0025: the delivery log, the silences and the columns added to alert_logs.
DROP INDEX IF EXISTS de_enrollment_runs_dagster_run_id_idx;
DROP TABLE IF EXISTS alert_deliveries;
DROP INDEX IF EXISTS alert_logs_open_idx;
DROP INDEX IF EXISTS alert_logs_pending_idx;
ALTER TABLE alert_logs
    DROP CONSTRAINT IF EXISTS alert_logs_counts_non_negative,
    DROP CONSTRAINT IF EXISTS alert_logs_pending_has_next_attempt,
    DROP CONSTRAINT IF EXISTS alert_logs_pending_kind_known,
    DROP COLUMN IF EXISTS last_payload,
    DROP COLUMN IF EXISTS attempt_count,
    DROP COLUMN IF EXISTS next_attempt_at,
    DROP COLUMN IF EXISTS pending_kind,
    DROP COLUMN IF EXISTS resolved_notified_at,
    DROP COLUMN IF EXISTS escalated_at,
    DROP COLUMN IF EXISTS seen_count,
    DROP COLUMN IF EXISTS last_seen_at,
    DROP COLUMN IF EXISTS active_since;
DROP TABLE IF EXISTS alert_silences;
