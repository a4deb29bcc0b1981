-- 0027: lifecycle (email round) campaigns (seed 003): schedules per round, notifications, metrics.
CREATE TABLE lifecycle_campaign_schedules (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    campaign_name       text        NOT NULL,
    round_number        integer     NOT NULL,
    scheduled_date      date        NOT NULL,
    scheduled_time      time        NOT NULL,
    status              text        NOT NULL DEFAULT 'SCHEDULED',
    mailjet_campaign_id text,
    recipient_count     integer     NOT NULL DEFAULT 0,
    sent_at             timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lifecycle_campaign_schedules_round_key UNIQUE (campaign_name, round_number),
    CONSTRAINT lifecycle_campaign_schedules_round_positive CHECK (round_number >= 1),
    CONSTRAINT lifecycle_campaign_schedules_status_known
        CHECK (status IN ('SCHEDULED', 'READY', 'SENT', 'COMPLETED')),
    CONSTRAINT lifecycle_campaign_schedules_recipients_non_negative CHECK (recipient_count >= 0),
    CONSTRAINT lifecycle_campaign_schedules_sent_has_time
        CHECK (status NOT IN ('SENT', 'COMPLETED') OR sent_at IS NOT NULL)
);

CREATE TABLE lifecycle_notification_logs (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_schedule_id uuid        NOT NULL REFERENCES lifecycle_campaign_schedules (id),
    stage                text        NOT NULL,
    status               text        NOT NULL,
    channel              text,
    scheduled_for        timestamptz,
    sent_at              timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lifecycle_notification_logs_stage_known CHECK (stage IN (
        'PREPARATION', 'PRE_LAUNCH_CHECK', 'LAUNCH_COUNTDOWN', 'LAUNCH', 'POST_LAUNCH_STATUS', 'WRAP_UP',
        'LIST_MANAGEMENT')),
    CONSTRAINT lifecycle_notification_logs_status_known CHECK (status IN ('SCHEDULED', 'SENT', 'FAILED', 'CANCELLED'))
);
CREATE INDEX lifecycle_notification_logs_schedule_idx ON lifecycle_notification_logs (campaign_schedule_id);

CREATE TABLE lifecycle_campaign_metrics (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_schedule_id uuid        NOT NULL REFERENCES lifecycle_campaign_schedules (id),
    processed            integer     NOT NULL DEFAULT 0,
    delivered            integer     NOT NULL DEFAULT 0,
    bounced              integer     NOT NULL DEFAULT 0,
    opened               integer     NOT NULL DEFAULT 0,
    clicked              integer     NOT NULL DEFAULT 0,
    collected_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lifecycle_campaign_metrics_non_negative
        CHECK (processed >= 0 AND delivered >= 0 AND bounced >= 0 AND opened >= 0 AND clicked >= 0)
);
CREATE INDEX lifecycle_campaign_metrics_schedule_idx ON lifecycle_campaign_metrics (campaign_schedule_id);
