-- Before the SOP's restore of leads: every lead the restore puts back into an enrollment (active, not completed in
-- the backup; not so now) whose enrollment is closed or waiting (newest guard event de_enrolled, resolved or
-- skipped) gets a `restored` lead-log entry that re-opens that enrollment, so the next pass de-enrolls it again as
-- a new event. A template: the backup table name is an identifier quoted by the caller; the note is bound.
WITH reopened AS (
    INSERT INTO de_enrollment_lead_log (run_id, lead_id, client_id, campaign_id, enrolled_at, action, error_message)
    SELECT NULL, l.id, l.client_id, l.campaign_link_id, l.enrolled_at, 'restored', :note
      FROM leads l
      JOIN {leads_backup} b ON b.id = l.id
     CROSS JOIN LATERAL (SELECT e.action
                           FROM de_enrollment_guard_events e
                          WHERE e.lead_id = l.id
                            AND e.campaign_id IS NOT DISTINCT FROM l.campaign_link_id
                            AND e.enrolled_at IS NOT DISTINCT FROM l.enrolled_at
                          ORDER BY e.id DESC
                          LIMIT 1) g
     WHERE b.is_active AND b.completed_at IS NULL
       AND NOT (l.is_active AND l.completed_at IS NULL)
       AND g.action IN ('de_enrolled', 'resolved', 'skipped')
    RETURNING 1
)
SELECT count(*) FROM reopened
