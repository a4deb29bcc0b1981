-- Replace a day's backup (only when asked): drop it in the transaction that recreates it.
-- A template: the table names are identifiers quoted by the caller.
DROP TABLE IF EXISTS {leads_backup};
DROP TABLE IF EXISTS {campaigns_backup};
