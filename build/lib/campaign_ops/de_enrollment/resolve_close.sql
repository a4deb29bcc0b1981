-- An operator's decision "put it back to de-enrolled": the lead ends as its earlier de-enrollment left it (inactive;
-- completed_at as then, for a completed outcome), a `resolved` entry closes the enrollment again, and the
-- campaigns' counters are recomputed. campaign_history already holds the earlier de-enrollment's entry.
WITH earlier AS (
    SELECT l.id, d.outcome, d.processed_at
      FROM leads l
      LEFT JOIN LATERAL (SELECT e.outcome, e.processed_at
                           FROM de_enrollment_guard_events e
                          WHERE e.lead_id = l.id
                            AND e.campaign_id IS NOT DISTINCT FROM l.campaign_link_id
                            AND e.enrolled_at IS NOT DISTINCT FROM l.enrolled_at
                            AND e.action IN ('de_enrolled', 'resolved')
                          ORDER BY e.id DESC
                          LIMIT 1) d ON true
     WHERE l.id = ANY(CAST(:lead_ids AS uuid[]))
), closed AS (
    UPDATE leads l
       SET is_active = false,
           completed_at = CASE WHEN e.outcome = 'completed' THEN COALESCE(l.completed_at, e.processed_at)
                               ELSE l.completed_at END,
           updated_at = now()
      FROM earlier e
     WHERE l.id = e.id
    RETURNING l.id, l.client_id, l.campaign_link_id, l.enrolled_at, l.current_message_position, e.outcome
), logged AS (
    INSERT INTO de_enrollment_lead_log
           (run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received, error_message)
    SELECT NULL, c.id, c.client_id, c.campaign_link_id, c.enrolled_at, 'resolved', c.outcome,
           c.current_message_position, :note
      FROM closed c
    RETURNING campaign_id
)
SELECT coalesce(array_agg(DISTINCT campaign_id) FILTER (WHERE campaign_id IS NOT NULL), '{}')::text[] FROM logged
