-- A step of the de-enrollment pass, before de_enroll_leads in the same transaction: every other active
-- enrollment of the same person (same E.164 phone or same email, same client: lead_contacts) as a lead whose opt-out
-- this pass is about to honor is de-enrolled as an opt-out, with a lead-log row whose error_message gives the reason
-- and the lead that opted out. Clients whose setting narrows revocation to the one lead are left out. A sibling whose
-- own enrollment already has a closing event (de-enrolled, resolved, skipped) is left to the guard of
-- de_enroll_leads. The siblings' rows are locked (waiting for the platform's short writes, not skipped: once the
-- opted-out lead is de-enrolled nothing would find them again). The campaigns' counters move by what it changed;
-- the leads revoked per client come back for the pass's de-enrollment statement to add to the client's run row.
CREATE OR REPLACE FUNCTION compliance_revoke_person(p_client_ids uuid[], p_run_ids uuid[])
RETURNS TABLE (client_id uuid, revoked integer)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_campaigns uuid[];
    v_left_active integer[];
    v_clients uuid[];
    v_revoked integer[];
BEGIN
    WITH runs AS (
        SELECT r.client_id, r.run_id FROM unnest(p_client_ids, p_run_ids) AS r(client_id, run_id)
    ), origins AS (
        -- the opt-outs this pass honors, found through the due queue (every opted-out active lead is in it from
        -- the moment it opted out until its de-enrollment is settled), not by reading the clients' leads
        SELECT o.id, o.client_id, k.phone_e164, k.email_lower
          FROM de_enrollment_due_queue q
          JOIN runs r ON r.client_id = q.client_id
          JOIN leads o ON o.id = q.lead_id AND o.client_id = q.client_id
          JOIN clients cl ON cl.id = o.client_id AND cl.is_active
          JOIN lead_contacts k ON k.lead_id = o.id
         WHERE o.opted_out AND o.is_active AND o.completed_at IS NULL
           AND NOT EXISTS (SELECT FROM compliance_client_settings s
                            WHERE s.client_id = o.client_id AND NOT s.revoke_all_enrollments)
    ), matches AS (
        SELECT k.lead_id, o.id AS origin_id, 'phone' AS how
          FROM origins o JOIN lead_contacts k ON k.phone_e164 = o.phone_e164 AND k.client_id = o.client_id
         WHERE o.phone_e164 IS NOT NULL AND k.lead_id <> o.id
        UNION ALL
        SELECT k.lead_id, o.id, 'email'
          FROM origins o JOIN lead_contacts k ON k.email_lower = o.email_lower AND k.client_id = o.client_id
         WHERE o.email_lower IS NOT NULL AND k.lead_id <> o.id
    ), siblings AS (
        SELECT DISTINCT ON (m.lead_id) m.lead_id, m.origin_id, m.how
          FROM matches m
         ORDER BY m.lead_id, m.how DESC, m.origin_id
    ), locked AS MATERIALIZED (
        SELECT l.ctid AS tid, l.id, l.client_id, r.run_id, c.id AS campaign_id, c.name AS campaign_name,
               l.enrolled_at, l.current_message_position AS position, s.origin_id, s.how
          FROM siblings s
          JOIN leads l ON l.id = s.lead_id
          JOIN runs r ON r.client_id = l.client_id
          LEFT JOIN campaigns c ON c.id = l.campaign_link_id
         WHERE l.is_active AND l.completed_at IS NULL AND NOT l.opted_out
           AND NOT EXISTS (
               SELECT FROM (SELECT e.action FROM de_enrollment_guard_events e
                             WHERE e.lead_id = l.id
                               AND e.campaign_id IS NOT DISTINCT FROM l.campaign_link_id
                               AND e.enrolled_at IS NOT DISTINCT FROM l.enrolled_at
                             ORDER BY e.id DESC LIMIT 1) g
                WHERE g.action IN ('de_enrolled', 'resolved', 'skipped'))
           FOR UPDATE OF l
    ), updated AS (
        UPDATE leads l
           SET is_active = false,
               campaign_history = l.campaign_history || jsonb_build_array(jsonb_build_object(
                   'campaign_id', d.campaign_id, 'campaign_name', d.campaign_name,
                   'enrolled_at', d.enrolled_at, 'ended_at', now(),
                   'messages_received', d.position, 'outcome', 'opted_out')),
               updated_at = now()
          FROM locked d
         WHERE l.ctid = d.tid
        RETURNING d.*
    ), logged AS (
        INSERT INTO de_enrollment_lead_log
               (run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received,
                error_message)
        SELECT u.run_id, u.id, u.client_id, u.campaign_id, u.enrolled_at, 'de_enrolled', 'opted_out', u.position,
               format('revoked with lead %s (same %s): the person opted out there', u.origin_id, u.how)
          FROM updated u
        RETURNING client_id, campaign_id
    ), per_client AS (
        SELECT lg.client_id, count(*)::int AS revoked FROM logged lg GROUP BY lg.client_id
    ), per_campaign AS (
        -- each was counted active (active and not opted out) until now
        SELECT lg.campaign_id, count(*)::int AS left_active
          FROM logged lg WHERE lg.campaign_id IS NOT NULL GROUP BY lg.campaign_id
    )
    SELECT (SELECT array_agg(pc.campaign_id ORDER BY pc.campaign_id) FROM per_campaign pc),
           (SELECT array_agg(pc.left_active ORDER BY pc.campaign_id) FROM per_campaign pc),
           (SELECT array_agg(p.client_id) FROM per_client p),
           (SELECT array_agg(p.revoked) FROM per_client p)
      INTO v_campaigns, v_left_active, v_clients, v_revoked;

    IF v_campaigns IS NOT NULL THEN
        PERFORM 1 FROM campaigns WHERE id = ANY (v_campaigns) ORDER BY id FOR UPDATE;
        UPDATE campaigns c
           SET active_leads_count = greatest(c.active_leads_count - m.left_active, 0),
               updated_at = now()
          FROM unnest(v_campaigns, v_left_active) AS m(id, left_active)
         WHERE c.id = m.id;
    END IF;
    RETURN QUERY SELECT * FROM unnest(v_clients, v_revoked);
END
$$;
