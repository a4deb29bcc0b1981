-- Rollback of 0019 (SOP): remove completion tracking from leads.
ALTER TABLE leads DROP CONSTRAINT IF EXISTS leads_campaign_history_is_array;
ALTER TABLE leads DROP COLUMN IF EXISTS campaign_history;
ALTER TABLE leads DROP COLUMN IF EXISTS completed_at;
