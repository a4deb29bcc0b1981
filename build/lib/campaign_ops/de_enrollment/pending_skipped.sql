-- Leads whose current enrollment is waiting for an operator: due again although already de-enrolled, recorded
-- `skipped` by a pass (newest guard event). A NULL lead_ids means all of them.
-- Locked when asked (resolve), so a pass running meanwhile skips them.
SELECT l.id::text AS lead_id, l.client_id::text AS client_id, l.campaign_link_id::text AS campaign_id,
       l.enrolled_at, g.run_id::text AS skipped_by_run, g.processed_at AS skipped_at, g.error_message AS reason
  FROM leads l
 CROSS JOIN LATERAL (SELECT e.action, e.run_id, e.processed_at, e.error_message
                       FROM de_enrollment_guard_events e
                      WHERE e.lead_id = l.id
                        AND e.campaign_id IS NOT DISTINCT FROM l.campaign_link_id
                        AND e.enrolled_at IS NOT DISTINCT FROM l.enrolled_at
                      ORDER BY e.id DESC
                      LIMIT 1) g
 WHERE g.action = 'skipped'
   AND l.id IN (SELECT lead_id FROM de_enrollment_guard_events WHERE action = 'skipped')  -- few: no full scan
   AND (CAST(:lead_ids AS uuid[]) IS NULL OR l.id = ANY(CAST(:lead_ids AS uuid[])))
 ORDER BY l.id
