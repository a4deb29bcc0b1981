-- Rollback of 0001: removes the base tables 0001 created (and every row in them). On a legacy database 0001
-- created nothing (CREATE TABLE IF NOT EXISTS found the tables), and its tables stay: the migration runner
-- recorded in campaign_ops_migration_changes which tables 0001 created. Without that record (a database
-- migrated before it existed, where 0033 did not record it either) all three are dropped, as before.
DO $undo$
DECLARE
    t text;
    recorded boolean := false;
    created text[] := ARRAY['leads', 'campaigns', 'clients'];
BEGIN
    IF to_regclass('campaign_ops_migration_changes') IS NOT NULL THEN
        recorded := EXISTS (SELECT 1 FROM campaign_ops_migration_changes WHERE revision = '0001' AND change = 'applied');
    END IF;
    IF recorded THEN
        created := ARRAY(SELECT object FROM campaign_ops_migration_changes
                          WHERE revision = '0001' AND change = 'created_table');
    END IF;
    -- leads, then campaigns, then clients: each references the next
    FOREACH t IN ARRAY ARRAY['leads', 'campaigns', 'clients'] LOOP
        IF t = ANY (created) THEN
            EXECUTE format('DROP TABLE IF EXISTS %I', t);
        END IF;
    END LOOP;
END
$undo$;
