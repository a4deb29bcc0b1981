-- An operator's decision "a new enrollment": a `restored` entry re-opens the enrollment; the next pass de-enrolls
-- the lead again with a new lead-log row (a new event, not a duplicate).
INSERT INTO de_enrollment_lead_log (run_id, lead_id, client_id, campaign_id, enrolled_at, action, error_message)
SELECT NULL, l.id, l.client_id, l.campaign_link_id, l.enrolled_at, 'restored', :note
  FROM leads l
 WHERE l.id = ANY(CAST(:lead_ids AS uuid[]))
