-- Leads waiting for an operator: due again although their enrollment was already de-enrolled, so a pass left them
-- as they are and recorded them `skipped` (the newest guard event of the enrollment,
-- sql/objects/de_enrollment_guard_events.sql). Resolve each with
-- `campaign-ops resolve-skipped`.
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
   AND l.id IN (SELECT lead_id FROM de_enrollment_guard_events WHERE action = 'skipped')
   AND l.client_id IN (SELECT id FROM clients
                        WHERE (CAST(:client_ids AS uuid[]) IS NULL AND is_active)
                           OR id = ANY(CAST(:client_ids AS uuid[])))
 ORDER BY l.client_id, l.id
