-- Rows in a day's backup tables. A template: the table names are identifiers quoted by the caller.
SELECT (SELECT count(*) FROM {leads_backup}) AS leads, (SELECT count(*) FROM {campaigns_backup}) AS campaigns
