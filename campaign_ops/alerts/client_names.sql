SELECT id::text AS client_id, company_name
  FROM clients
 WHERE id = ANY (CAST(:client_ids AS uuid[]))
