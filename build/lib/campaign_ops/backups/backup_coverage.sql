-- How the backup's rows relate to the live table: in both, only in the backup (deleted since), only live (new since).
-- A template: the table names are identifiers quoted by the caller.
SELECT count(*) FILTER (WHERE b.id IS NOT NULL AND t.id IS NOT NULL) AS matched,
       count(*) FILTER (WHERE t.id IS NULL)                          AS only_in_backup,
       count(*) FILTER (WHERE b.id IS NULL)                          AS only_live
  FROM {backup} b
  FULL JOIN {live} t ON t.id = b.id
