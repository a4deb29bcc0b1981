-- A lead whose campaign_history holds the same enrollment (campaign_id and enrolled_at) more than once
-- (SOP Level 3: "Duplicate entries in campaign_history"). Only leads with two or more entries are unnested.
SELECT l.id::text AS lead_id, l.client_id::text AS client_id,
       h.entry ->> 'campaign_id' AS campaign_id, h.entry ->> 'enrolled_at' AS enrolled_at,
       count(*) AS times_in_history
  FROM leads l
 CROSS JOIN LATERAL jsonb_array_elements(l.campaign_history) AS h (entry)
 WHERE jsonb_array_length(l.campaign_history) > 1
   AND l.client_id IN (SELECT id FROM clients
                        WHERE (CAST(:client_ids AS uuid[]) IS NULL AND is_active)
                           OR id = ANY(CAST(:client_ids AS uuid[])))
 GROUP BY l.id, l.client_id, h.entry ->> 'campaign_id', h.entry ->> 'enrolled_at'
HAVING count(*) > 1
 ORDER BY times_in_history DESC, lead_id
