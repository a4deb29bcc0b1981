SELECT pg_advisory_unlock(client_lock_key(CAST(:client_id AS uuid)))
