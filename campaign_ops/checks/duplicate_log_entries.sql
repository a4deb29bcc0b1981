-- A lead de-enrolled twice from the same enrollment (lead, campaign, enrolled_at) in de_enrollment_lead_log.
-- The unique partial index de_enrollment_lead_log_one_per_enrollment_idx forbids this in the live table today;
-- the check still looks, because an index can be dropped and the archive has no such index.
-- NULL campaign or enrolled_at count as equal (GROUP BY), as the index's NULLS NOT DISTINCT does.
SELECT e.lead_id::text AS lead_id, e.client_id::text AS client_id, e.campaign_id::text AS campaign_id,
       e.enrolled_at, count(DISTINCT e.id) AS times_logged
  FROM de_enrollment_lead_log e
 WHERE e.action = 'de_enrolled'
   AND e.client_id IN (SELECT id FROM clients
                        WHERE (CAST(:client_ids AS uuid[]) IS NULL AND is_active)
                           OR id = ANY(CAST(:client_ids AS uuid[])))
 GROUP BY e.lead_id, e.client_id, e.campaign_id, e.enrolled_at
HAVING count(DISTINCT e.id) > 1
 ORDER BY times_logged DESC, lead_id
