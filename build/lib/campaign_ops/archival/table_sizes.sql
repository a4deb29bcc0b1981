-- Size on disk (table, indexes and TOAST) of each named table that exists.
SELECT t.name, pg_total_relation_size(to_regclass(t.name)) AS bytes
  FROM unnest(CAST(:tables AS text[])) WITH ORDINALITY AS t (name, position)
 WHERE to_regclass(t.name) IS NOT NULL
 ORDER BY t.position
