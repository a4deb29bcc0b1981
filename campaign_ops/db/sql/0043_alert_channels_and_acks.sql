-- 0043: alerts reach more than one channel (SMS through Twilio, PagerDuty), each with its own delivery state, and
-- on-call people acknowledge alerts.
--
-- alert_logs keeps the incident (active_since, resolved_at) and the state of the main channel (Slack, or the log).
-- alert_channel_states keeps, per alert and paging channel, what alert_logs keeps for the main one: the last
-- message delivered, the escalation, and the message still owed after a failure (retried with its own back-off),
-- so that a failing SMS gateway neither holds back Slack nor makes Slack repeat itself.
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
