-- Runs just before 0045, in its transaction. For a database migrated before the migration runner recorded what each
-- migration created, record what 0001 created, so that 0001's rollback keeps a legacy database's own tables. A
-- database adopted by 0002 (legacy_schema_adoption exists) had its clients, campaigns and leads before 0001: 0001
-- created none of them. Otherwise 0001 created all three. On a database migrated with the record in place this finds
-- it and does nothing. The records are facts about 0001, owned by 0001 from then on: 0045's rollback keeps them.
DO $record$
BEGIN
    IF EXISTS (SELECT 1 FROM campaign_ops_migration_changes WHERE revision = '0001' AND change = 'applied') THEN
        RETURN;
    END IF;
    INSERT INTO campaign_ops_migration_changes (revision, change, object, old_value)
    VALUES ('0001', 'applied', NULL, '{"recorded_by": "0045"}');
    IF to_regclass('legacy_schema_adoption') IS NULL THEN
        INSERT INTO campaign_ops_migration_changes (revision, change, object, old_value)
        SELECT '0001', 'created_table', t, '{"recorded_by": "0045"}'
          FROM unnest(ARRAY['clients', 'campaigns', 'leads']) AS t;
    END IF;
END
$record$;
