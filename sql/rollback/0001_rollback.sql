-- Rollback of 0001: removes the base tables (and every row in them).
DROP TABLE IF EXISTS leads;
DROP TABLE IF EXISTS campaigns;
DROP TABLE IF EXISTS clients;
