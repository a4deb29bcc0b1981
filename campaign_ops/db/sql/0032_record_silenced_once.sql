-- 0032: a silenced alert is recorded once, and again only when what it would say changes.
--
-- Every tick used to write a 'silenced' delivery row for each alert a silence held (a 30-day silence on a 60 s
-- sensor: about 43,000 rows per alert). silenced_digest remembers what the last silenced record was about (the
-- message kind, severity, silence and text); an observation under a silence with the same digest records nothing.
ALTER TABLE alert_logs ADD COLUMN silenced_digest text;
