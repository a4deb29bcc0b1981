-- "Stop processing immediately" is a fact of this database, enforced by it. While a row of processing_pauses is in
-- force (resumed_at IS NULL), every statement that writes a table only campaign-ops writes (the lead log, new
-- de-enrollment run rows (an open row may still be closed), the reconciliation log, the archives) fails with one
-- error naming who paused and how to resume. Every writing path goes through one of them in the same transaction as
-- its lead and counter changes, so nothing writes while paused, whoever calls: the CLI, a Dagster run, or an
-- operator in psql. The check takes the pause's lock shared (processing_pause_lock_key.sql).
CREATE OR REPLACE FUNCTION refuse_while_paused() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    p processing_pauses;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(processing_pause_lock_key());
    SELECT * INTO p FROM processing_pauses WHERE resumed_at IS NULL;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PAUSE',
            MESSAGE = format('processing is paused (paused by %s at %s%s); nothing was changed. Resume with '
                             '`campaign-ops resume`, or in the Dagster UI launch resume_processing_job',
                             p.paused_by, to_char(p.paused_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
                             CASE WHEN p.reason <> '' THEN ': ' || p.reason ELSE '' END);
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER de_enrollment_lead_log_refuse_while_paused
    BEFORE INSERT OR UPDATE OR DELETE ON de_enrollment_lead_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_while_paused();
CREATE OR REPLACE TRIGGER de_enrollment_runs_refuse_while_paused
    BEFORE INSERT OR DELETE ON de_enrollment_runs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_while_paused();
CREATE OR REPLACE TRIGGER stats_reconciliation_log_refuse_while_paused
    BEFORE INSERT OR UPDATE OR DELETE ON stats_reconciliation_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_while_paused();
CREATE OR REPLACE TRIGGER de_enrollment_runs_archive_refuse_while_paused
    BEFORE INSERT OR UPDATE OR DELETE ON de_enrollment_runs_archive
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_while_paused();
CREATE OR REPLACE TRIGGER de_enrollment_lead_log_archive_refuse_while_paused
    BEFORE INSERT OR UPDATE OR DELETE ON de_enrollment_lead_log_archive
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_while_paused();
