-- Which of the given client ids exist, and whether each is active (the one lookup behind every client scope).
SELECT id::text AS client_id, is_active FROM clients WHERE id = ANY(CAST(:client_ids AS uuid[]))
