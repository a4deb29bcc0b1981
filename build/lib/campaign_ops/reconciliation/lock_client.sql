-- Wait for the client's session-level advisory lock (shared with de-enrollment); the caller sets lock_timeout.
SELECT pg_advisory_lock(client_lock_key(CAST(:client_id AS uuid)))
