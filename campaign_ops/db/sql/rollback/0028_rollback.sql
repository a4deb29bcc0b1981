-- Rollback of 0028: the 0021 functions, the unique index and the two-action lead log. Refused (by the index or the
-- constraint) while the lead log holds rows only 0028 allows: resolve them first.
CREATE OR REPLACE FUNCTION refresh_campaign_counters(p_campaign_ids uuid[]) RETURNS integer
    LANGUAGE sql AS $$
    WITH actual AS (
        SELECT c.id,
               count(l.id) FILTER (WHERE l.is_active AND NOT l.opted_out) AS active,
               count(l.id) FILTER (WHERE l.completed_at IS NOT NULL)     AS completed,
               count(l.id) FILTER (WHERE l.opted_out)                    AS opted_out,
               count(l.id) FILTER (WHERE l.booked_meeting)               AS booked
          FROM campaigns c
          LEFT JOIN leads l ON l.campaign_link_id = c.id
         WHERE c.id = ANY (p_campaign_ids)
         GROUP BY c.id
    ), changed AS (
        UPDATE campaigns c
           SET active_leads_count = a.active, completed_leads_count = a.completed,
               opted_out_count = a.opted_out, booked_count = a.booked, updated_at = now()
          FROM actual a
         WHERE c.id = a.id
           AND (c.active_leads_count, c.completed_leads_count, c.opted_out_count, c.booked_count)
               IS DISTINCT FROM (a.active::int, a.completed::int, a.opted_out::int, a.booked::int)
        RETURNING 1
    )
    SELECT count(*)::int FROM changed
$$;

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
                    ELSE 'completed' END AS outcome
          FROM leads l
          JOIN campaigns c ON c.id = l.campaign_link_id
          JOIN clients cl ON cl.id = l.client_id AND cl.is_active
         WHERE l.client_id = p_client_id
           AND l.is_active AND l.completed_at IS NULL
           AND (l.opted_out OR l.booked_meeting
                OR l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                                      THEN jsonb_array_length(c.messages) END)
           AND (p_lead_ids IS NULL OR l.id = ANY (p_lead_ids))
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
        RETURNING l.id, d.campaign_id, d.enrolled_at, d.position, d.outcome
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

    IF de_enrolled > 0 THEN
        PERFORM refresh_campaign_counters(v_campaign_ids);
    END IF;
    RETURN NEXT;
END
$$;

DROP VIEW IF EXISTS de_enrollment_guard_events;
CREATE UNIQUE INDEX de_enrollment_lead_log_one_per_enrollment_idx
    ON de_enrollment_lead_log (lead_id, campaign_id, enrolled_at) NULLS NOT DISTINCT
    WHERE action = 'de_enrolled';
ALTER TABLE de_enrollment_lead_log_archive ALTER COLUMN run_id SET NOT NULL;
ALTER TABLE de_enrollment_lead_log ALTER COLUMN run_id SET NOT NULL;
ALTER TABLE de_enrollment_lead_log DROP CONSTRAINT de_enrollment_lead_log_action_known;
ALTER TABLE de_enrollment_lead_log ADD CONSTRAINT de_enrollment_lead_log_action_known
    CHECK (action IN ('de_enrolled', 'skipped', 'error'));
