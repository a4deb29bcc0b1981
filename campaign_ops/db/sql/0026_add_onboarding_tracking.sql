-- 0026: client onboarding pipeline (seed 004): its states in one place, each client's state, payment and phone,
-- and the Twilio number pool.

-- The onboarding pipeline, in one place: order, default threshold and why, and whether a client stuck there can
-- never move on by itself (it needs a person). Thresholds are overridable in the check's config.
CREATE TABLE onboarding_pipeline_states (
    state                     text PRIMARY KEY,
    position                  integer NOT NULL UNIQUE,
    default_threshold_minutes integer,
    is_terminal               boolean NOT NULL DEFAULT false,
    threshold_reason          text    NOT NULL,
    CONSTRAINT onboarding_pipeline_states_threshold_range
        CHECK (default_threshold_minutes IS NULL OR default_threshold_minutes BETWEEN 30 AND 1440)
);
INSERT INTO onboarding_pipeline_states (state, position, default_threshold_minutes, is_terminal, threshold_reason) VALUES
    ('S1_SIGNUP',             1,   30, false, 'sign-up finishes in one sitting; 30 min means the client left the form'),
    ('S2_BUSINESS_DETAILS',   2,  120, false, 'details take a few minutes; 2 h allows a lunch break'),
    ('S3_NUMBER_ASSIGNED',    3,   30, false, 'number assignment is automatic; 30 min means the pool or Twilio failed'),
    ('S4_CAMPAIGN_SETUP',     4,  240, false, 'first campaign set-up takes an afternoon at most'),
    ('S5_CONFIRM_LIVE',       5,  120, true,  'needs payment and a READY reply: never progresses by itself'),
    ('S6_IMPORT_LEADS',       6,  360, false, 'lead import from Airtable runs within hours'),
    ('S7_TEMPLATES_APPROVED', 7, 1440, false, 'carrier template approval can take a business day'),
    ('S8_SCHEDULE_SET',       8,  240, false, 'choosing send windows is quick once templates are approved'),
    ('S9_TEST_CALL',          9, 1440, true,  'the client must make a test call: never progresses by itself'),
    ('COMPLETE',             10, NULL, false, 'onboarding finished: never stuck');

ALTER TABLE clients
    ADD COLUMN payment_active boolean NOT NULL DEFAULT false,
    ADD COLUMN phone_number   text,
    ADD CONSTRAINT clients_phone_number_key UNIQUE (phone_number),
    ADD CONSTRAINT clients_phone_number_e164 CHECK (phone_number ~ '^\+[1-9][0-9]{7,14}$');

CREATE TABLE onboarding_states (
    client_id         uuid PRIMARY KEY REFERENCES clients (id),
    current_state     text        NOT NULL REFERENCES onboarding_pipeline_states (state),
    state_entered_at  timestamptz NOT NULL DEFAULT now(),
    stuck_detected_at timestamptz,
    completed_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX onboarding_states_current_state_idx ON onboarding_states (current_state) WHERE completed_at IS NULL;

CREATE TABLE twilio_number_pool (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_e164         text        NOT NULL UNIQUE,
    status             text        NOT NULL DEFAULT 'AVAILABLE',
    client_id          uuid REFERENCES clients (id),
    assigned_at        timestamptz,
    monthly_cost_cents integer     NOT NULL DEFAULT 0,
    paid_through       date,
    last_payment_at    timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT twilio_number_pool_phone_e164 CHECK (phone_e164 ~ '^\+[1-9][0-9]{7,14}$'),
    CONSTRAINT twilio_number_pool_status_known CHECK (status IN ('AVAILABLE', 'ASSIGNED', 'RESERVED', 'RELEASED')),
    CONSTRAINT twilio_number_pool_assigned_has_client CHECK ((status = 'ASSIGNED') = (client_id IS NOT NULL)),
    CONSTRAINT twilio_number_pool_cost_non_negative CHECK (monthly_cost_cents >= 0)
);
CREATE INDEX twilio_number_pool_status_idx ON twilio_number_pool (status);
