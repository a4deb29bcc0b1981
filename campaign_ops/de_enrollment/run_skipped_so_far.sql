-- Leads this run left alone because their enrollment was already de-enrolled (one `skipped` row each).
SELECT count(*)::int FROM de_enrollment_lead_log WHERE run_id = CAST(:run_id AS uuid) AND action = 'skipped'
