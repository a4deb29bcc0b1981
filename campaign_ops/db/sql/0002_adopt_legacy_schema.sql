-- 0002: adopt a legacy database (seed 002: campaign_id, sms_stop, booked, sms_sequence_position,
-- processing_status) by renaming its columns to the SOP's names. Renames keep every row and value.
-- On a database created by 0001 this finds nothing to do and changes nothing.
-- Each rename is recorded in legacy_schema_adoption so that the rollback can undo exactly what was done.
DO $adopt$
DECLARE
    rename_map constant text[][] := ARRAY[
        ['campaign_id', 'campaign_link_id'],
        ['sms_stop', 'opted_out'],
        ['booked', 'booked_meeting'],
        ['sms_sequence_position', 'current_message_position']
    ];
    i int;
    adopted boolean := false;
BEGIN
    FOR i IN 1 .. array_length(rename_map, 1) LOOP
        IF EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = 'leads'
                     AND column_name = rename_map[i][1])
           AND NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = 'leads'
                     AND column_name = rename_map[i][2]) THEN
            IF NOT adopted THEN
                CREATE TABLE legacy_schema_adoption (
                    table_name  text NOT NULL,
                    legacy_name text NOT NULL,
                    new_name    text NOT NULL,
                    added       boolean NOT NULL DEFAULT false,
                    adopted_at  timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (table_name, new_name)
                );
                adopted := true;
            END IF;
            EXECUTE format('ALTER TABLE leads RENAME COLUMN %I TO %I', rename_map[i][1], rename_map[i][2]);
            INSERT INTO legacy_schema_adoption (table_name, legacy_name, new_name)
            VALUES ('leads', rename_map[i][1], rename_map[i][2]);
        END IF;
    END LOOP;

    IF adopted THEN
        -- base columns a legacy table may lack; recorded so the rollback drops only what was added here
        DECLARE
            col record;
        BEGIN
            FOR col IN
                SELECT * FROM (VALUES
                    ('campaign_link_id', 'uuid'),
                    ('first_name', 'text'), ('last_name', 'text'), ('phone', 'text'), ('email', 'text'),
                    ('current_message_position', 'integer NOT NULL DEFAULT 0'),
                    ('is_active', 'boolean NOT NULL DEFAULT true'),
                    ('opted_out', 'boolean NOT NULL DEFAULT false'),
                    ('booked_meeting', 'boolean NOT NULL DEFAULT false'),
                    ('enrolled_at', 'timestamptz'),
                    ('created_at', 'timestamptz NOT NULL DEFAULT now()'),
                    ('updated_at', 'timestamptz NOT NULL DEFAULT now()')
                ) AS v(name, ddl)
                WHERE NOT EXISTS (SELECT 1 FROM information_schema.columns
                                  WHERE table_schema = current_schema() AND table_name = 'leads'
                                    AND column_name = v.name)
            LOOP
                EXECUTE format('ALTER TABLE leads ADD COLUMN %I %s', col.name, col.ddl);
                INSERT INTO legacy_schema_adoption (table_name, legacy_name, new_name, added)
                VALUES ('leads', col.name, col.name, true);
            END LOOP;
        END;
    END IF;
END
$adopt$;
