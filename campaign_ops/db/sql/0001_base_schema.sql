-- 0001: base tables of the outreach platform (clients, campaigns, leads).
-- IF NOT EXISTS so that a legacy database (seed 002) keeps its tables; 0002 then adopts their columns.

CREATE TABLE IF NOT EXISTS clients (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_name     text        NOT NULL,
    email            text        NOT NULL,
    airtable_base_id text        NOT NULL,
    is_active        boolean     NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS campaigns (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id  uuid        NOT NULL REFERENCES clients (id),
    name       text        NOT NULL,
    messages   jsonb       NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT campaigns_messages_is_array CHECK (jsonb_typeof(messages) = 'array'),
    -- lets leads reference (campaign, client) so a lead can never sit in another client's campaign
    CONSTRAINT campaigns_id_client_id_key UNIQUE (id, client_id)
);

CREATE TABLE IF NOT EXISTS leads (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id                uuid        NOT NULL REFERENCES clients (id),
    campaign_link_id         uuid,
    first_name               text,
    last_name                text,
    phone                    text,
    email                    text,
    current_message_position integer     NOT NULL DEFAULT 0,
    is_active                boolean     NOT NULL DEFAULT true,
    opted_out                boolean     NOT NULL DEFAULT false,
    booked_meeting           boolean     NOT NULL DEFAULT false,
    enrolled_at              timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT leads_position_non_negative CHECK (current_message_position >= 0),
    CONSTRAINT leads_campaign_same_client_fkey FOREIGN KEY (campaign_link_id, client_id)
        REFERENCES campaigns (id, client_id)
);
