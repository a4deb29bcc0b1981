-- A sample of stuck leads (same rule and scope as stuck_leads_by_client.sql), furthest past the end first.
SELECT l.id::text AS lead_id,
       l.client_id::text AS client_id,
       cl.company_name AS client_name,
       c.id::text AS campaign_id,
       c.name AS campaign_name,
       l.current_message_position AS position,
       jsonb_array_length(c.messages) AS sequence_length
  FROM leads l
  JOIN campaigns c ON c.id = l.campaign_link_id
  JOIN clients cl ON cl.id = l.client_id
 WHERE l.is_active
   AND l.completed_at IS NULL
   AND ((CAST(:client_ids AS uuid[]) IS NULL AND cl.is_active) OR cl.id = ANY(CAST(:client_ids AS uuid[])))
   AND l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                          THEN jsonb_array_length(c.messages) END
 ORDER BY l.current_message_position - jsonb_array_length(c.messages) DESC, l.id
 LIMIT :sample_size
