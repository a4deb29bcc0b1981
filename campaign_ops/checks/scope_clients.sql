-- The requested client ids that exist (the caller names the ones that do not).
SELECT id::text FROM clients WHERE id = ANY(CAST(:client_ids AS uuid[]))
