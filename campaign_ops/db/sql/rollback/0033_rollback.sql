-- Rollback of 0033: nothing. The records 0033 wrote are facts about 0001 (what it created), owned by 0001 from
-- then on: 0001's rollback reads them and the migration runner forgets them with it. Deleting them here would
-- make 0001's rollback drop a legacy database's own tables.
SELECT 1;
