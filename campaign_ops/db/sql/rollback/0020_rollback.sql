-- Rollback of 0020 (SOP): remove the v2 campaign fields and the hot-path indexes.
DROP INDEX IF EXISTS leads_de_enrollment_candidates_idx;
DROP INDEX IF EXISTS leads_campaign_link_id_idx;
DROP INDEX IF EXISTS leads_client_id_idx;
DROP INDEX IF EXISTS campaigns_client_id_idx;
ALTER TABLE campaigns
    DROP CONSTRAINT IF EXISTS campaigns_counters_non_negative,
    DROP COLUMN IF EXISTS auto_discovered,
    DROP COLUMN IF EXISTS last_enrollment_at,
    DROP COLUMN IF EXISTS deactivated_at,
    DROP COLUMN IF EXISTS booked_count,
    DROP COLUMN IF EXISTS opted_out_count,
    DROP COLUMN IF EXISTS completed_leads_count,
    DROP COLUMN IF EXISTS active_leads_count,
    DROP COLUMN IF EXISTS is_active;
