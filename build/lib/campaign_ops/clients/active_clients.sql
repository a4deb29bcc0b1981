-- Active clients with their names, in a stable order (the clients partitions are made from these).
SELECT id::text AS client_id, company_name FROM clients WHERE is_active ORDER BY id
