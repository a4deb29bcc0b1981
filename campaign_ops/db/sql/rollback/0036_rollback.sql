-- Rollback of 0036: the stuck-lead view (the queries that read it go with the code of their release).
DROP VIEW IF EXISTS stuck_leads;
