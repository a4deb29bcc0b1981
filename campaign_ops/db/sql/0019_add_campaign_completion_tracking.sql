-- 0019 (SOP): completion tracking on leads.
ALTER TABLE leads ADD COLUMN completed_at timestamptz;
ALTER TABLE leads ADD COLUMN campaign_history jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE leads ADD CONSTRAINT leads_campaign_history_is_array CHECK (jsonb_typeof(campaign_history) = 'array');

-- A legacy database (adopted by 0002) marked finished leads with processing_status = 'Completed':
-- carry that over to completed_at so the SOP's queries see them as completed.
DO $backfill$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'leads'
                 AND column_name = 'processing_status') THEN
        UPDATE leads
           SET completed_at = COALESCE(updated_at, now()),
               is_active = false
         WHERE processing_status = 'Completed' AND completed_at IS NULL;
    END IF;
END
$backfill$;
