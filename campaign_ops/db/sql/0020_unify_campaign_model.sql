-- 0020 (SOP): v2 campaign fields (state and counters) and the hot-path indexes.
ALTER TABLE campaigns
    ADD COLUMN is_active             boolean NOT NULL DEFAULT true,
    ADD COLUMN active_leads_count    integer NOT NULL DEFAULT 0,
    ADD COLUMN completed_leads_count integer NOT NULL DEFAULT 0,
    ADD COLUMN opted_out_count       integer NOT NULL DEFAULT 0,
    ADD COLUMN booked_count          integer NOT NULL DEFAULT 0,
    ADD COLUMN deactivated_at        timestamptz,
    ADD COLUMN last_enrollment_at    timestamptz,
    ADD COLUMN auto_discovered       boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT campaigns_counters_non_negative CHECK (
        active_leads_count >= 0 AND completed_leads_count >= 0
        AND opted_out_count >= 0 AND booked_count >= 0);

CREATE INDEX campaigns_client_id_idx ON campaigns (client_id);
CREATE INDEX leads_client_id_idx ON leads (client_id);
CREATE INDEX leads_campaign_link_id_idx ON leads (campaign_link_id);
-- The de-enrollment scan: a client's active, not yet completed leads (a small part of all leads).
CREATE INDEX leads_de_enrollment_candidates_idx ON leads (client_id, campaign_link_id)
    INCLUDE (current_message_position)
    WHERE is_active AND completed_at IS NULL;
