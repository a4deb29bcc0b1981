-- A lead whose campaign_history holds the same enrollment (campaign_id and enrolled_at) more than once
-- (SOP Level 3: "Duplicate entries in campaign_history") more often than `restored` entries allow: an enrollment an
-- operator re-opened ("new enrollment") is legitimately de-enrolled, and so written to the history, once more.
-- (Matched on lead and campaign: enrolled_at in the JSON is text whose format depends on who wrote it.)
-- Only leads with two or more entries are unnested.
WITH repeated AS (
    SELECT l.id, l.client_id,
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
)
SELECT r.id::text AS lead_id, r.client_id::text AS client_id, r.campaign_id, r.enrolled_at, r.times_in_history
  FROM repeated r
 WHERE r.times_in_history > 1 + (SELECT count(DISTINCT e.id)
                                   FROM de_enrollment_lead_log e
                                  WHERE e.lead_id = r.id
                                    AND e.action = 'restored'
                                    AND e.campaign_id::text IS NOT DISTINCT FROM r.campaign_id)
 ORDER BY r.times_in_history DESC, lead_id
