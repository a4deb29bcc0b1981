-- 0041: "stop processing immediately" is a fact of this database, enforced by it.
--
-- A pause is a row of processing_pauses (who, why, when; resumed by whom and when; the row stays as history).
-- While a row is in force (resumed_at IS NULL), every statement that writes a table only campaign-ops writes —
-- the lead log, the de-enrollment run rows (new ones; an open row may still be closed), the reconciliation log,
-- the archives — fails with one error naming who paused and how to resume. Every writing path goes through one
-- of them in the same transaction as its lead and counter changes (de_enroll_leads and so the SOP's
-- de_enroll_client_leads / process_de_enrollment_batch, resolve-skipped, restore, reconciliation, archival), so
-- nothing writes while paused, whoever calls: the CLI, a Dagster run, or an operator in psql.
--
-- The check takes a shared transaction-level advisory lock (processing_pause_lock_key()); `campaign-ops pause`
-- records the row, then takes the same lock exclusively: it gets it once every transaction that passed the
-- check before the pause has ended, so nothing commits after the pause returns.
CREATE TABLE processing_pauses (
    id bigserial PRIMARY KEY,
    paused_by text NOT NULL,
    reason text NOT NULL DEFAULT '',
    paused_at timestamptz NOT NULL DEFAULT now(),
    -- the schedules and sensors this pause stopped ("schedule:<name>", "sensor:<name>"): resume starts exactly
    -- these, so what was off before the pause stays off
    stopped_automations text[] NOT NULL DEFAULT '{}',
    resumed_by text,
    resumed_at timestamptz,
    CHECK ((resumed_by IS NULL) = (resumed_at IS NULL))
);
-- at most one pause in force
CREATE UNIQUE INDEX processing_pauses_in_force_idx ON processing_pauses ((true)) WHERE resumed_at IS NULL;

CREATE FUNCTION processing_pause_lock_key() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hashtextextended('campaign_ops:processing_pause', 0) $$;

CREATE FUNCTION refuse_while_paused() RETURNS trigger
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

CREATE TRIGGER de_enrollment_lead_log_refuse_while_paused
    BEFORE INSERT OR UPDATE OR DELETE ON de_enrollment_lead_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_while_paused();
CREATE TRIGGER de_enrollment_runs_refuse_while_paused
    BEFORE INSERT OR DELETE ON de_enrollment_runs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_while_paused();
CREATE TRIGGER stats_reconciliation_log_refuse_while_paused
    BEFORE INSERT OR UPDATE OR DELETE ON stats_reconciliation_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_while_paused();
CREATE TRIGGER de_enrollment_runs_archive_refuse_while_paused
    BEFORE INSERT OR UPDATE OR DELETE ON de_enrollment_runs_archive
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_while_paused();
CREATE TRIGGER de_enrollment_lead_log_archive_refuse_while_paused
    BEFORE INSERT OR UPDATE OR DELETE ON de_enrollment_lead_log_archive
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_while_paused();

-- A skipped lead's lead-log message names the operators' command; de_enroll_leads wrote a command that does not
-- exist (`campaign-ops de-enroll resolve-skipped`). Corrected as the row is written (skipped rows only, a few per
-- pass), so the de-enrollment function's body is not restated here.
CREATE FUNCTION de_enrollment_skipped_message() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.error_message := replace(NEW.error_message, 'campaign-ops de-enroll resolve-skipped',
                                 'campaign-ops resolve-skipped');
    RETURN NEW;
END
$$;
CREATE TRIGGER de_enrollment_lead_log_skipped_message
    BEFORE INSERT ON de_enrollment_lead_log
    FOR EACH ROW WHEN (NEW.action = 'skipped') EXECUTE FUNCTION de_enrollment_skipped_message();
