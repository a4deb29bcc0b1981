-- As duplicate_log_entries.sql, over the live lead log and its archive (migration 0024) together.
-- Archived rows keep their ids: a row found in both tables (an interrupted move) is one log entry, not two.
SELECT e.lead_id::text AS lead_id, e.client_id::text AS client_id, e.campaign_id::text AS campaign_id,
       e.enrolled_at, count(DISTINCT e.id) AS times_logged
  FROM (SELECT id, lead_id, client_id, campaign_id, enrolled_at, action FROM de_enrollment_lead_log
        UNION ALL
        SELECT id, lead_id, client_id, campaign_id, enrolled_at, action FROM de_enrollment_lead_log_archive) e
 WHERE e.action = 'de_enrolled'
   AND e.client_id IN (SELECT id FROM clients
                        WHERE (CAST(:client_ids AS uuid[]) IS NULL AND is_active)
                           OR id = ANY(CAST(:client_ids AS uuid[])))
 GROUP BY e.lead_id, e.client_id, e.campaign_id, e.enrolled_at
HAVING count(DISTINCT e.id) > 1
 ORDER BY times_logged DESC, lead_id
