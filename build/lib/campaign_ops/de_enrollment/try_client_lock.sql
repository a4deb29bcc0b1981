SELECT pg_try_advisory_lock(client_lock_key(CAST(:client_id AS uuid)))
