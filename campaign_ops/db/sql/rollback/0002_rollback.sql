-- Rollback of 0002: give the legacy columns their old names back and drop the columns 0002 added.
-- A database that 0002 did not adopt has no legacy_schema_adoption table: nothing to undo.
DO $undo$
DECLARE
    r record;
BEGIN
    IF to_regclass('legacy_schema_adoption') IS NULL THEN
        RETURN;
    END IF;
    FOR r IN SELECT * FROM legacy_schema_adoption LOOP
        IF r.added THEN
            EXECUTE format('ALTER TABLE %I DROP COLUMN %I', r.table_name, r.new_name);
        ELSE
            EXECUTE format('ALTER TABLE %I RENAME COLUMN %I TO %I', r.table_name, r.new_name, r.legacy_name);
        END IF;
    END LOOP;
    DROP TABLE legacy_schema_adoption;
END
$undo$;
