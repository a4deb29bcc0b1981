-- The guard events of every enrollment, live and archived: de_enrolled, resolved (an operator put it back to
-- de-enrolled), skipped (left as it is, waiting for an operator), restored (re-opened). A row found in both tables,
-- an interrupted move, is the same event: same id (ids are global, archived rows keep theirs).
CREATE OR REPLACE VIEW de_enrollment_guard_events AS
SELECT id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, error_message, processed_at
  FROM de_enrollment_lead_log
 WHERE action IN ('de_enrolled', 'skipped', 'restored', 'resolved')
UNION ALL
SELECT id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, error_message, processed_at
  FROM de_enrollment_lead_log_archive
 WHERE action IN ('de_enrolled', 'skipped', 'restored', 'resolved');
