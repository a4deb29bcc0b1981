-- The SOP's table backups (Pre-deployment checklist, "Specific table backups created"). A template: the table names
-- are identifiers, quoted by the caller from a validated date; there are no values to bind.
CREATE TABLE {leads_backup} AS SELECT * FROM leads;
CREATE TABLE {campaigns_backup} AS SELECT * FROM campaigns;
