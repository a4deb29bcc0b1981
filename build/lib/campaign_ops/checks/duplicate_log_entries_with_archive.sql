-- As duplicate_log_entries.sql, over the live lead log and its archive (migration 0024) together.
-- Archived rows keep their ids: a row found in both tables (an interrupted move) is one log entry, not two.
-- A `restored` entry (restore from a backup, or an operator's "new enrollment" decision) re-opens an enrollment:
-- a de-enrollment after it is a new event. Duplicates are counted within each stretch between restored entries.
WITH events AS (
    SELECT e.id, e.lead_id, e.client_id, e.campaign_id, e.enrolled_at, e.action,
           count(*) FILTER (WHERE e.action = 'restored')
               OVER (PARTITION BY e.lead_id, e.campaign_id, e.enrolled_at ORDER BY e.id) AS stretch
      FROM (SELECT id, lead_id, client_id, campaign_id, enrolled_at, action FROM de_enrollment_lead_log
             WHERE action IN ('de_enrolled', 'restored')
            UNION
            SELECT id, lead_id, client_id, campaign_id, enrolled_at, action FROM de_enrollment_lead_log_archive
             WHERE action IN ('de_enrolled', 'restored')) e
     WHERE e.client_id IN (SELECT id FROM clients
                            WHERE (CAST(:client_ids AS uuid[]) IS NULL AND is_active)
                               OR id = ANY(CAST(:client_ids AS uuid[])))
), per_stretch AS (
    SELECT lead_id, client_id, campaign_id, enrolled_at, count(DISTINCT id) AS times_logged
      FROM events
     WHERE action = 'de_enrolled'
     GROUP BY lead_id, client_id, campaign_id, enrolled_at, stretch
    HAVING count(DISTINCT id) > 1
)
SELECT lead_id::text AS lead_id, client_id::text AS client_id, campaign_id::text AS campaign_id, enrolled_at,
       max(times_logged) AS times_logged
  FROM per_stretch
 GROUP BY lead_id, client_id, campaign_id, enrolled_at
 ORDER BY times_logged DESC, lead_id
