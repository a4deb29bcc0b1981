-- The company names of the given clients (active or not): the one query every capability uses to name clients.
SELECT id::text AS client_id, company_name FROM clients WHERE id = ANY(CAST(:client_ids AS uuid[]))
