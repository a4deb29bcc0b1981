-- Release the client's session-level advisory lock (taken by de-enrollment and reconciliation alike).
SELECT pg_advisory_unlock(client_lock_key(CAST(:client_id AS uuid)))
