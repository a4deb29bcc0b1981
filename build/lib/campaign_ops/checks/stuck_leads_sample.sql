-- A sample of stuck leads (the view stuck_leads, in the scope of stuck_leads_by_client.sql), furthest past the end
-- first.
SELECT s.lead_id::text AS lead_id,
       s.client_id::text AS client_id,
       cl.company_name AS client_name,
       s.campaign_id::text AS campaign_id,
       s.campaign_name,
       s.position,
       s.sequence_length
  FROM stuck_leads s
  JOIN clients cl ON cl.id = s.client_id
 WHERE (CAST(:client_ids AS uuid[]) IS NULL AND cl.is_active) OR cl.id = ANY(CAST(:client_ids AS uuid[]))
 ORDER BY s.position - s.sequence_length DESC, s.lead_id
 LIMIT :sample_size
