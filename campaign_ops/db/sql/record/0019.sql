-- Runs just before 0019, in its transaction: note the leads its legacy backfill will deactivate
-- (processing_status = 'Completed') with their is_active, so that 0019's rollback gives each one back.
DO $record$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'leads'
                 AND column_name = 'processing_status') THEN
        INSERT INTO campaign_ops_migration_changes (revision, change, object, row_id, old_value)
        SELECT '0019', 'updated_row', 'leads.is_active', id, to_jsonb(is_active)
          FROM leads
         WHERE processing_status = 'Completed';
    END IF;
END
$record$;
