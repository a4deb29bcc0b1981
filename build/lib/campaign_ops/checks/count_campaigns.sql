-- Campaigns in the checks' scope (see stuck_leads_by_client.sql).
SELECT count(*)
  FROM campaigns c
  JOIN clients cl ON cl.id = c.client_id
 WHERE (CAST(:client_ids AS uuid[]) IS NULL AND cl.is_active) OR cl.id = ANY(CAST(:client_ids AS uuid[]))
