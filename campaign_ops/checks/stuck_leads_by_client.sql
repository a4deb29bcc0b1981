-- SOP "Verify data integrity" (6.2) / "Morning Health Check" 3, per client: the stuck leads (the rule: the view
-- sql/objects/stuck_leads.sql). Scope: the given clients, or every active client when none are given (leads of inactive
-- clients are left alone by design).
SELECT s.client_id::text AS client_id, count(*) AS stuck
  FROM stuck_leads s
 WHERE s.client_id IN (SELECT id FROM clients
                        WHERE (CAST(:client_ids AS uuid[]) IS NULL AND is_active)
                           OR id = ANY(CAST(:client_ids AS uuid[])))
 GROUP BY s.client_id
