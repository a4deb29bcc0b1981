-- Names of the clients a report lists (the SOP's queries give ids only).
SELECT id::text AS client_id, company_name FROM clients WHERE id = ANY(CAST(:client_ids AS uuid[]))
