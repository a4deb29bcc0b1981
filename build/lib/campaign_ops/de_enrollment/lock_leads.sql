-- The leads an operator's decision changes, locked for its transaction (a pass running meanwhile skips them).
SELECT id FROM leads WHERE id = ANY(CAST(:lead_ids AS uuid[])) ORDER BY id FOR UPDATE
