-- What the connected role lacks for what the service's processes do in this database, one row per privilege and
-- object: use the schema; read, write and delete every table of it (alembic_version only read: migrations write
-- it); use its sequences (inserts draw ids from them); before any table exists, create them (Dagster creates its
-- own at first start).
WITH tables AS (
    SELECT c.oid, c.relname, c.relkind
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'S') AND NOT c.relispartition
)
SELECT 'USAGE' AS privilege, 'schema ' || current_schema() AS object
WHERE NOT has_schema_privilege(current_schema(), 'USAGE')
UNION ALL
SELECT 'CREATE', 'schema ' || current_schema()
WHERE NOT EXISTS (SELECT FROM tables WHERE relkind <> 'S') AND NOT has_schema_privilege(current_schema(), 'CREATE')
UNION ALL
SELECT p.privilege, t.relname
FROM tables AS t
CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p (privilege)
WHERE t.relkind <> 'S'
    AND (t.relname <> 'alembic_version' OR p.privilege = 'SELECT')
    AND NOT has_table_privilege(t.oid, p.privilege)
UNION ALL
SELECT 'USAGE', t.relname
FROM tables AS t
-- CASE: has_sequence_privilege raises on a table, and AND does not fix the order of evaluation
WHERE CASE WHEN t.relkind = 'S' THEN NOT has_sequence_privilege(t.oid, 'USAGE') ELSE false END
ORDER BY 1, 2
