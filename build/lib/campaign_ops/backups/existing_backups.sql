-- Dates (YYYYMMDD) of the SOP backup tables in the current schema, by table kind.
SELECT substring(c.relname FROM '_backup_([0-9]{8})$') AS day,
       CASE WHEN c.relname LIKE 'leads\_backup\_%' THEN 'leads' ELSE 'campaigns' END AS kind
  FROM pg_class c
 WHERE c.relnamespace = current_schema()::regnamespace
   AND c.relkind IN ('r', 'p')
   AND c.relname ~ '^(leads|campaigns)_backup_[0-9]{8}$'
 ORDER BY 1, 2
