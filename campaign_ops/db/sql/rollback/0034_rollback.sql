-- Rollback of 0034: de_enroll_client_leads as 0028 defined it (its own statement, counters recounted), without
-- the many-clients function and the index of running passes.
CREATE OR REPLACE FUNCTION de_enroll_client_leads(
    p_run_id uuid, p_client_id uuid, p_lead_ids uuid[] DEFAULT NULL, p_limit integer DEFAULT NULL)
RETURNS TABLE (de_enrolled integer, completed integer, opted_out integer, booked integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_campaign_ids uuid[];
BEGIN
    WITH due AS (
        SELECT l.id, c.id AS campaign_id, c.name AS campaign_name, l.enrolled_at,
               l.current_message_position AS position,
               CASE WHEN l.opted_out THEN 'opted_out'
                    WHEN l.booked_meeting THEN 'booked'
                    ELSE 'completed' END AS outcome,
               g.action AS last_action, g.run_id AS last_run_id, g.processed_at AS last_at
          FROM leads l
          JOIN campaigns c ON c.id = l.campaign_link_id
          JOIN clients cl ON cl.id = l.client_id AND cl.is_active
          LEFT JOIN LATERAL (
              SELECT e.action, e.run_id, e.processed_at
                FROM de_enrollment_guard_events e
               WHERE e.lead_id = l.id
                 AND e.campaign_id IS NOT DISTINCT FROM l.campaign_link_id
                 AND e.enrolled_at IS NOT DISTINCT FROM l.enrolled_at
               ORDER BY e.id DESC
               LIMIT 1) g ON true
         WHERE l.client_id = p_client_id
           AND l.is_active AND l.completed_at IS NULL
           AND (l.opted_out OR l.booked_meeting
                OR l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                                      THEN jsonb_array_length(c.messages) END)
           AND (p_lead_ids IS NULL OR l.id = ANY (p_lead_ids))
           -- already recorded as skipped: left alone until an operator decides (no new row every pass)
           AND g.action IS DISTINCT FROM 'skipped'
         LIMIT p_limit
           FOR UPDATE OF l SKIP LOCKED
    ), updated AS (
        UPDATE leads l
           SET is_active = false,
               completed_at = CASE WHEN d.outcome = 'completed' THEN now() END,
               campaign_history = l.campaign_history || jsonb_build_array(jsonb_build_object(
                   'campaign_id', d.campaign_id, 'campaign_name', d.campaign_name,
                   'enrolled_at', d.enrolled_at, 'ended_at', now(),
                   'messages_received', d.position, 'outcome', d.outcome)),
               updated_at = now()
          FROM due d
         WHERE l.id = d.id
           AND d.last_action IS DISTINCT FROM 'de_enrolled'
           AND d.last_action IS DISTINCT FROM 'resolved'
        RETURNING l.id, d.campaign_id, d.enrolled_at, d.position, d.outcome
    ), flagged AS (
        INSERT INTO de_enrollment_lead_log
               (run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received, error_message)
        SELECT p_run_id, d.id, p_client_id, d.campaign_id, d.enrolled_at, 'skipped', NULL, d.position,
               CASE WHEN d.last_action = 'de_enrolled'
                    THEN format('enrollment already de-enrolled by run %s at %s', d.last_run_id, d.last_at)
                    ELSE format('enrollment put back to de-enrolled by an operator at %s', d.last_at) END
               || '; left as it is until an operator decides (campaign-ops de-enroll resolve-skipped)'
          FROM due d
         WHERE d.last_action IN ('de_enrolled', 'resolved')
        RETURNING 1
    ), logged AS (
        INSERT INTO de_enrollment_lead_log
               (run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received)
        SELECT p_run_id, u.id, p_client_id, u.campaign_id, u.enrolled_at, 'de_enrolled', u.outcome, u.position
          FROM updated u
        RETURNING campaign_id, outcome
    )
    SELECT count(*)::int,
           count(*) FILTER (WHERE lg.outcome = 'completed')::int,
           count(*) FILTER (WHERE lg.outcome = 'opted_out')::int,
           count(*) FILTER (WHERE lg.outcome = 'booked')::int,
           array_agg(DISTINCT lg.campaign_id)
      INTO de_enrolled, completed, opted_out, booked, v_campaign_ids
      FROM logged lg;
    -- the flagged CTE runs whether or not it is referenced (data-modifying CTEs always run to completion)

    IF de_enrolled > 0 THEN
        PERFORM refresh_campaign_counters(v_campaign_ids);
    END IF;
    RETURN NEXT;
END
$$;

DROP FUNCTION IF EXISTS de_enroll_leads(uuid[], uuid[], uuid[], integer);
DROP INDEX IF EXISTS de_enrollment_runs_running_idx;
