-- 0024 (issue 4): archives for the monitoring tables, and the lead history across live and archived rows.
--
-- The SOP's monthly cleanup deletes old lead logs; we move them here instead (nothing is lost). Each archive has
-- the live table's columns, same names and types, plus archived_at. Rows keep their ids.
-- No foreign keys: a run and its lead-log rows are archived at different ages (90 and 30 days by default), so an
-- archived lead-log row may point at a live or an archived run; the archival job keeps every run live while any
-- of its lead-log rows is live, so the live foreign key de_enrollment_lead_log.run_id always holds.

CREATE TABLE de_enrollment_runs_archive (
    id                uuid        PRIMARY KEY,
    run_at            timestamptz NOT NULL,
    client_id         uuid        NOT NULL,
    status            text        NOT NULL,
    leads_evaluated   integer     NOT NULL,
    leads_de_enrolled integer     NOT NULL,
    leads_skipped     integer     NOT NULL,
    duration_ms       integer,
    error_details     text,
    batch_size        integer,
    dagster_run_id    text,
    finished_at       timestamptz,
    archived_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX de_enrollment_runs_archive_client_run_at_idx ON de_enrollment_runs_archive (client_id, run_at DESC);

CREATE TABLE de_enrollment_lead_log_archive (
    id                bigint      PRIMARY KEY,
    run_id            uuid        NOT NULL,
    lead_id           uuid        NOT NULL,
    client_id         uuid        NOT NULL,
    campaign_id       uuid,
    enrolled_at       timestamptz,
    action            text        NOT NULL,
    outcome           text,
    messages_received integer,
    error_message     text,
    processed_at      timestamptz NOT NULL,
    archived_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX de_enrollment_lead_log_archive_lead_id_idx ON de_enrollment_lead_log_archive (lead_id);
CREATE INDEX de_enrollment_lead_log_archive_run_id_idx ON de_enrollment_lead_log_archive (run_id);
CREATE INDEX de_enrollment_lead_log_archive_client_processed_idx
    ON de_enrollment_lead_log_archive (client_id, processed_at);

-- The archival job finds a client's old lead-log rows by (client_id, processed_at); without this index each client's
-- monthly pass would scan the whole live lead log (measured: about 100 ms per client at 1M rows, the bulk of it).
CREATE INDEX de_enrollment_lead_log_client_processed_idx ON de_enrollment_lead_log (client_id, processed_at);

-- A lead's whole processing history, live and archived: the SOP's "Check Processing History for Specific Lead"
-- over both, e.g. SELECT run_id, run_at, action, outcome, messages_received, error_message
--   FROM de_enrollment_lead_history WHERE lead_id = '<lead-uuid>' ORDER BY processed_at DESC;
-- archived_at is NULL for a live lead-log row. LEFT JOIN: a log row is shown even if its run were missing.
CREATE VIEW de_enrollment_lead_history AS
SELECT l.id AS log_id,
       l.run_id,
       r.run_at,
       l.lead_id,
       l.client_id,
       l.campaign_id,
       l.enrolled_at,
       l.action,
       l.outcome,
       l.messages_received,
       l.error_message,
       l.processed_at,
       l.archived_at
  FROM (SELECT id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received,
               error_message, processed_at, NULL::timestamptz AS archived_at
          FROM de_enrollment_lead_log
        UNION ALL
        SELECT id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received,
               error_message, processed_at, archived_at
          FROM de_enrollment_lead_log_archive) AS l
  LEFT JOIN (SELECT id, run_at FROM de_enrollment_runs
             UNION ALL
             SELECT id, run_at FROM de_enrollment_runs_archive) AS r ON r.id = l.run_id;
