-- 0045: the schema after the SOP's migrations, folded into one baseline: the tables, columns, indexes and
-- constraints campaign-ops added. Its functions, views and triggers are one file each under objects/ (applied by
-- the migration runner: functions and views, then data/0045.sql, which needs them, then the triggers, so that the
-- rows it writes fire none). A database that ran the migrations this baseline folds is taken over as it is
-- (folded.txt).

-- The lead log's guard events (de_enrollment_guard_events.sql) replace the SOP's unique index, whose
-- UniqueViolation rolled back a whole chunk for one lead and which could not see the archive; restored and
-- resolved entries are written by an operator's command, not by a de-enrollment run.
ALTER TABLE de_enrollment_lead_log DROP CONSTRAINT de_enrollment_lead_log_action_known;
ALTER TABLE de_enrollment_lead_log ADD CONSTRAINT de_enrollment_lead_log_action_known
    CHECK (action IN ('de_enrolled', 'skipped', 'error', 'restored', 'resolved'));
ALTER TABLE de_enrollment_lead_log ALTER COLUMN run_id DROP NOT NULL;
ALTER TABLE de_enrollment_lead_log_archive ALTER COLUMN run_id DROP NOT NULL;
DROP INDEX IF EXISTS de_enrollment_lead_log_one_per_enrollment_idx;

-- A silenced alert is recorded once, and again only when what it would say changes: silenced_digest remembers what
-- the last silenced record was about (the message kind, severity, silence and text).
ALTER TABLE alert_logs ADD COLUMN silenced_digest text;

-- A pass closes the still-running rows of its client (a worker that died); with runs kept for months a client
-- has thousands of rows, and this finds the few 'running' ones directly.
CREATE INDEX de_enrollment_runs_running_idx ON de_enrollment_runs (client_id) WHERE status = 'running';

-- One row per lead that became due and whose de-enrollment is not yet settled (kept by
-- de_enrollment_mark_due.sql). due_since is when it became due for this enrollment (campaign_id,
-- enrolled_at); version changes on every later mark, so that settling (which deletes rows it found done) never
-- deletes a mark written after it looked. No foreign keys: they would add a check to every platform UPDATE that
-- marks a lead; rows of deleted leads are settled away.
CREATE TABLE de_enrollment_due_queue (
    lead_id     uuid        PRIMARY KEY,
    client_id   uuid        NOT NULL,
    campaign_id uuid,
    enrolled_at timestamptz,
    due_since   timestamptz NOT NULL,
    version     bigint      NOT NULL DEFAULT 1
);
CREATE INDEX de_enrollment_due_queue_client_idx ON de_enrollment_due_queue (client_id, due_since);

-- Per lead, the time from "became due" to de-enrolled: due_since is copied from the queue when the
-- de-enrollment is settled (processed_at - due_since). NULL for de-enrollments of leads never marked (before
-- the queue existed, or a campaign shortened under them: the 15-minute sweep finds those).
ALTER TABLE de_enrollment_lead_log ADD COLUMN due_since timestamptz;
ALTER TABLE de_enrollment_lead_log_archive ADD COLUMN due_since timestamptz;

-- A pause is a row (who, why, when; resumed by whom and when; the row stays as history), enforced by
-- refuse_while_paused.sql.
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

-- Alerts reach more than one channel (SMS through Twilio, PagerDuty), each with its own delivery state: alert_logs
-- keeps the incident and the state of the main channel (Slack, or the log); alert_channel_states keeps the same per
-- alert and paging channel, so that a failing SMS gateway neither holds back Slack nor makes Slack repeat itself.
-- No foreign key to alert_logs, as for alert_deliveries: the documented rollback `DROP TABLE alert_logs;` must run.
CREATE TABLE alert_channel_states (
    alert_log_id       bigint      NOT NULL,
    channel            text        NOT NULL,
    last_sent_at       timestamptz,
    last_sent_severity text,
    escalated_at       timestamptz,
    pending_kind       text,
    next_attempt_at    timestamptz,
    attempt_count      integer     NOT NULL DEFAULT 0,
    last_error         text,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (alert_log_id, channel),
    CONSTRAINT alert_channel_states_channel_known CHECK (channel IN ('sms', 'pagerduty')),
    CONSTRAINT alert_channel_states_pending_kind_known
        CHECK (pending_kind IS NULL OR pending_kind IN ('firing', 'reminder', 'escalation', 'resolved')),
    CONSTRAINT alert_channel_states_pending_has_next_attempt CHECK ((pending_kind IS NULL) = (next_attempt_at IS NULL)),
    CONSTRAINT alert_channel_states_attempts_non_negative CHECK (attempt_count >= 0)
);
CREATE INDEX alert_channel_states_pending_idx ON alert_channel_states (next_attempt_at) WHERE pending_kind IS NOT NULL;

-- An acknowledgement: someone is on it. While it holds (until `until`, for the incident it was given in, and as
-- long as the alert is no worse than `severity`) the alert is neither re-sent nor escalated on any channel.
-- The rows are the audit trail (who, when, why).
CREATE TABLE alert_acks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_log_id bigint      NOT NULL,
    acked_by     text        NOT NULL,
    reason       text,
    severity     text        NOT NULL,
    acked_at     timestamptz NOT NULL,
    until        timestamptz NOT NULL,
    CONSTRAINT alert_acks_until_after_ack CHECK (until > acked_at),
    CONSTRAINT alert_acks_by_not_blank CHECK (btrim(acked_by) <> '')
);
CREATE INDEX alert_acks_alert_log_id_idx ON alert_acks (alert_log_id, acked_at);

ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_channel_known;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_channel_known
    CHECK (channel IN ('slack_webhook', 'slack_api', 'log', 'none', 'sms', 'pagerduty'));

-- The alert pipeline watches itself: each alert sensor's last completed tick. A sensor that stops ticking (stopped,
-- or failing at every tick) goes stale here, and the heartbeat stops while it does.
CREATE TABLE alert_sensor_ticks (
    sensor_name  text PRIMARY KEY,
    last_tick_at timestamptz NOT NULL,
    summary      text
);

-- Messages sent after revocation (compliance_record_send_after_revocation.sql). No foreign keys: they
-- would add checks to the rare write of a violation that must never fail, and the evidence outlives a deleted lead.
-- sent_at is the moment of the UPDATE (clock_timestamp(), not the transaction's start).
CREATE TABLE compliance_sends_after_revocation (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id          uuid        NOT NULL,
    client_id        uuid        NOT NULL,
    campaign_id      uuid,
    enrolled_at      timestamptz,
    old_position     integer     NOT NULL,
    new_position     integer     NOT NULL,
    sent_at          timestamptz NOT NULL,
    -- what the lead was when the message went out: opted_out (whatever else) or inactive (de-enrolled, completed)
    revoked_as       text        NOT NULL,
    -- when the opt-out was first seen (the due queue's mark or its de-enrollment's due moment), else when it was
    -- de-enrolled; NULL when nothing recorded it (the platform deactivated the lead itself)
    revoked_at       timestamptz,
    -- the de-enrollment of this lead that the message came after (its lead-log row), if any
    de_enrolled_by_run uuid,
    CONSTRAINT compliance_sends_after_revocation_as_known CHECK (revoked_as IN ('opted_out', 'inactive'))
);
CREATE INDEX compliance_sends_after_revocation_client_sent_idx
    ON compliance_sends_after_revocation (client_id, sent_at);
CREATE INDEX compliance_sends_after_revocation_lead_idx ON compliance_sends_after_revocation (lead_id);
CREATE INDEX compliance_sends_after_revocation_sent_idx ON compliance_sends_after_revocation (sent_at);

-- The lead carries its campaign's sequence length (campaign_sequence_length.sql), kept on write by
-- leads_set_sequence_length.sql and campaigns_propagate_sequence_length.sql, so that the due
-- queue's triggers decide on the row alone.
ALTER TABLE leads ADD COLUMN campaign_sequence_length integer;

-- National phone formats are read with the deployment's default region (US unless set: `campaign-ops compliance
-- phone-region`), whose calling code and national prefix come from the phonenumbers library when it is set.
CREATE TABLE compliance_settings (
    id                    boolean PRIMARY KEY DEFAULT true CHECK (id),
    phone_region          text    NOT NULL DEFAULT 'US',
    phone_calling_code    text    NOT NULL DEFAULT '1',
    phone_national_prefix text    NOT NULL DEFAULT '1',
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Per client: whether an opt-out ends every active enrollment of the person with that client (default) or only
-- the lead that opted out (for clients that must). Different clients are different senders: never across clients.
CREATE TABLE compliance_client_settings (
    client_id              uuid PRIMARY KEY REFERENCES clients (id),
    revoke_all_enrollments boolean NOT NULL,
    changed_by             text,
    reason                 text,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- Each lead's phone in E.164 and its email in lower case (lead_contacts_keep*.sql), indexed for "the same
-- person with this client". A table of its own rather than columns on leads: every index on leads is written by
-- every send (a send changes an indexed column, current_message_position, so it is never a HOT update). No foreign
-- key (the due queue's reason): rows of deleted leads are never joined to a lead.
CREATE TABLE lead_contacts (
    lead_id     uuid PRIMARY KEY,
    client_id   uuid NOT NULL,
    phone_e164  text,
    email_lower text
);
CREATE INDEX lead_contacts_phone_idx ON lead_contacts (phone_e164, client_id) WHERE phone_e164 IS NOT NULL;
CREATE INDEX lead_contacts_email_idx ON lead_contacts (email_lower, client_id) WHERE email_lower IS NOT NULL;
