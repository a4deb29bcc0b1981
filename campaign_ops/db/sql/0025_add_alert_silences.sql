-- 0025 (issue 6): alert silences, incident and delivery bookkeeping on alert_logs, and the delivery log.
--
-- alert_logs (0022) keeps one row per (alert_type, alert_key). The columns added here let the alert sensors
-- decide, under a row lock, whether an observation is a new incident, a duplicate inside the suppression window,
-- an escalation, a retry owed after a failed delivery, or a recovery that deserves a "resolved" message.

CREATE TABLE alert_silences (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL matches every alert type; otherwise the upper-case type (e.g. CHECK_FAILED)
    alert_type  text,
    -- NULL matches every client (and alerts about no client in particular)
    client_id   uuid REFERENCES clients (id) ON DELETE CASCADE,
    starts_at   timestamptz NOT NULL DEFAULT now(),
    until       timestamptz NOT NULL,
    created_by  text        NOT NULL,
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- `alerts unsilence` ends a silence early; the row stays as the audit trail
    lifted_at   timestamptz,
    lifted_by   text,
    CONSTRAINT alert_silences_until_after_start CHECK (until > starts_at),
    CONSTRAINT alert_silences_type_upper CHECK (alert_type IS NULL OR alert_type = upper(alert_type)),
    CONSTRAINT alert_silences_lifted_by_with_lifted_at CHECK ((lifted_at IS NULL) = (lifted_by IS NULL))
);
CREATE INDEX alert_silences_active_idx ON alert_silences (until) WHERE lifted_at IS NULL;

ALTER TABLE alert_logs
    -- start of the current incident: the first observation since the last resolution
    ADD COLUMN active_since         timestamptz,
    ADD COLUMN last_seen_at         timestamptz,
    ADD COLUMN seen_count           integer NOT NULL DEFAULT 0,
    -- when the one escalation of the current incident was delivered (a WARN still failing after 12 h)
    ADD COLUMN escalated_at         timestamptz,
    -- when the "resolved" message of the last incident was delivered
    ADD COLUMN resolved_notified_at timestamptz,
    -- the message still owed after a failed delivery, and when to try again (Retry-After or back-off)
    ADD COLUMN pending_kind         text,
    ADD COLUMN next_attempt_at      timestamptz,
    ADD COLUMN attempt_count        integer NOT NULL DEFAULT 0,
    -- the alert as last observed (title, facts, link…): what a retry or a "resolved" message is built from
    ADD COLUMN last_payload         jsonb,
    ADD CONSTRAINT alert_logs_pending_kind_known
        CHECK (pending_kind IS NULL OR pending_kind IN ('firing', 'reminder', 'escalation', 'resolved')),
    ADD CONSTRAINT alert_logs_pending_has_next_attempt CHECK ((pending_kind IS NULL) = (next_attempt_at IS NULL)),
    ADD CONSTRAINT alert_logs_counts_non_negative CHECK (seen_count >= 0 AND attempt_count >= 0);
CREATE INDEX alert_logs_pending_idx ON alert_logs (next_attempt_at) WHERE pending_kind IS NOT NULL;
CREATE INDEX alert_logs_open_idx ON alert_logs (alert_type, alert_key) WHERE resolved_at IS NULL;

-- One row per message handed to a channel (or withheld by a silence): the audit trail of what was said, when,
-- through which channel and with what result. Rows delivered together in one aggregated message share message_id.
-- alert_log_id has no foreign key on purpose: seed 004's rollback plan (`DROP TABLE alert_logs;`) must run verbatim,
-- and the delivery history is worth keeping even then.
CREATE TABLE alert_deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_log_id bigint      NOT NULL,
    message_id   uuid        NOT NULL,
    kind         text        NOT NULL,
    severity     text        NOT NULL,
    channel      text        NOT NULL,
    status       text        NOT NULL,
    http_status  integer,
    error        text,
    silence_id   bigint REFERENCES alert_silences (id) ON DELETE SET NULL,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_deliveries_kind_known CHECK (kind IN ('firing', 'reminder', 'escalation', 'resolved')),
    CONSTRAINT alert_deliveries_status_known CHECK (status IN ('sent', 'logged', 'failed', 'silenced')),
    CONSTRAINT alert_deliveries_channel_known CHECK (channel IN ('slack_webhook', 'slack_api', 'log', 'none'))
);
CREATE INDEX alert_deliveries_alert_log_id_idx ON alert_deliveries (alert_log_id);
CREATE INDEX alert_deliveries_attempted_at_idx ON alert_deliveries (attempted_at);

-- The run-status alert sensor looks up the client passes of each finished Dagster run (partial/failed clients).
CREATE INDEX de_enrollment_runs_dagster_run_id_idx ON de_enrollment_runs (dagster_run_id)
    WHERE dagster_run_id IS NOT NULL;
