-- Rollback of 0019 (SOP): remove completion tracking from leads.
-- First give back is_active to the legacy leads 0019's backfill deactivated (recorded before it ran, in
-- campaign_ops_migration_changes), where it is still the value 0019 set.
DO $restore$
BEGIN
    IF to_regclass('campaign_ops_migration_changes') IS NOT NULL THEN
        UPDATE leads l
           SET is_active = (c.old_value #>> '{}')::boolean
          FROM campaign_ops_migration_changes c
         WHERE c.revision = '0019' AND c.change = 'updated_row' AND c.object = 'leads.is_active'
           AND c.row_id = l.id
           AND l.is_active = false
           AND l.is_active IS DISTINCT FROM (c.old_value #>> '{}')::boolean;
    END IF;
END
$restore$;
ALTER TABLE leads DROP CONSTRAINT IF EXISTS leads_campaign_history_is_array;
ALTER TABLE leads DROP COLUMN IF EXISTS campaign_history;
ALTER TABLE leads DROP COLUMN IF EXISTS completed_at;
