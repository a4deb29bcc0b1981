-- 0022: alert de-duplication log (seed 004): one row per (alert_type, alert_key).
CREATE TABLE alert_logs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_type      text        NOT NULL,
    alert_key       text        NOT NULL,
    severity        text        NOT NULL,
    resource_id     text,
    title           text,
    message         text,
    first_sent_at   timestamptz,
    last_sent_at    timestamptz,
    delivered_at    timestamptz,
    send_count      integer     NOT NULL DEFAULT 0,
    delivery_status text        NOT NULL DEFAULT 'pending',
    last_error      text,
    resolved_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_logs_type_key_key UNIQUE (alert_type, alert_key),
    CONSTRAINT alert_logs_severity_known
        CHECK (severity IN ('INFO', 'WARN', 'ERROR', 'CRITICAL', 'LOW', 'MEDIUM', 'HIGH')),
    CONSTRAINT alert_logs_delivery_status_known
        CHECK (delivery_status IN ('pending', 'sent', 'failed', 'silenced', 'logged')),
    CONSTRAINT alert_logs_send_count_non_negative CHECK (send_count >= 0)
);
CREATE INDEX alert_logs_alert_type_idx ON alert_logs (alert_type);
CREATE INDEX alert_logs_delivered_at_idx ON alert_logs (delivered_at);
