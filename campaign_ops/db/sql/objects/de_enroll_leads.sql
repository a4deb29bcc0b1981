-- The single place the de-enrollment rules live: the due leads of a set of (client, run) pairs, de-enrolled at once.
--
-- Due is de_enrollment_lead_due (de_enrollment_lead_due.sql) for a lead in a campaign of an active client.
-- The due leads of all the clients are found in one scan (the leads of a few clients are spread over most of the
-- table's pages: each page is read once per statement, not once per client), each carrying its client's run id;
-- they are locked (SKIP LOCKED: a lead another writer holds is left for the next pass) and flipped by their
-- physical address (ctid: the version the lock took, which no other writer can replace before we commit) in one
-- UPDATE … RETURNING that feeds the lead-log INSERT, in the order the scan read them.
--
-- The guard: an enrollment is (lead_id, campaign_id, enrolled_at), NULL equal to NULL; its newest guard event
-- (de_enrollment_guard_events.sql) decides: de_enrolled or resolved -> closed, the lead is left as it is with
-- one `skipped` row naming the earlier event, and is not selected again until its enrollment changes; skipped ->
-- waiting for an operator; restored -> re-opened, de-enrolled again as a new event. The ordered look-up runs only
-- for a lead that has any lead-log row at all (two index-only probes gate it): nearly every due lead has none.
--
-- Figures come back per client (de-enrolled by outcome, and the leads left alone as already de-enrolled). The
-- campaign counters move by what the statement changed instead of a recount: a de-enrolled lead that was not opted
-- out leaves active_leads_count, a completed one joins completed_leads_count. The campaign rows are locked in id
-- order first (as refresh_campaign_counters does), so two writers never deadlock and each adds its change to the
-- other's committed figure. Counters that had drifted stay drifted by the same amount (reconciliation finds and
-- fixes them), floored at 0 so a drifted campaign never fails a client's pass.
CREATE OR REPLACE FUNCTION de_enroll_leads(
    p_client_ids uuid[], p_run_ids uuid[], p_lead_ids uuid[] DEFAULT NULL, p_limit integer DEFAULT NULL)
RETURNS TABLE (client_id uuid, de_enrolled integer, completed integer, opted_out integer, booked integer,
               already_de_enrolled integer)
LANGUAGE plpgsql
-- The guard lookup must probe the lead log's lead_id indexes whatever its statistics say: on an empty or newly
-- vacuumed lead log the planner picks a sequential scan per due lead of the very table this statement is
-- appending to. No JIT: its compile time costs more than it saves on a group of a few thousand leads. work_mem:
-- the due leads and what the UPDATE returns are held twice, and a large group's must stay in memory rather than
-- go to temporary files.
SET enable_seqscan = off
SET jit = off
SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    v_campaigns uuid[];
    v_left_active integer[];
    v_completed integer[];
    v_clients uuid[];
    v_done integer[];
    v_done_completed integer[];
    v_done_opted_out integer[];
    v_done_booked integer[];
    v_skipped integer[];
    v_active uuid[];
BEGIN
    IF cardinality(p_client_ids) IS DISTINCT FROM cardinality(p_run_ids) THEN
        RAISE EXCEPTION 'one run id per client: % clients, % runs', cardinality(p_client_ids), cardinality(p_run_ids);
    END IF;
    -- the leads of inactive clients are never touched
    v_active := ARRAY(SELECT cl.id FROM clients cl WHERE cl.id = ANY (p_client_ids) AND cl.is_active);
    WITH runs AS (
        SELECT r.client_id, r.run_id FROM unnest(p_client_ids, p_run_ids) AS r(client_id, run_id)
    ), due AS MATERIALIZED (
        -- one scan for all the clients (not one per client): the leads of a few clients are spread over most of
        -- the table's pages, and each page is then read once per statement, not once per client. Each lead takes
        -- its client's run id here (runs is the small, hashed side), so the lead-log rows below are written in
        -- the order this scan read the leads
        SELECT l.ctid AS tid, l.id, l.client_id, r.run_id, c.id AS campaign_id, c.name AS campaign_name,
               l.enrolled_at, l.current_message_position AS position,
               CASE WHEN l.opted_out THEN 'opted_out'
                    WHEN l.booked_meeting THEN 'booked'
                    ELSE 'completed' END AS outcome,
               g.action AS last_action, g.run_id AS last_run_id, g.processed_at AS last_at
          FROM leads l
          JOIN runs r ON r.client_id = l.client_id
          JOIN campaigns c ON c.id = l.campaign_link_id
          LEFT JOIN LATERAL (
              -- the newest guard event of this enrollment, looked for only when the lead has any lead-log row
              -- at all: two index-only probes then gate the ordered look-up (OFFSET 0 keeps the gate above it)
              SELECT s.action, s.run_id, s.processed_at
                FROM (SELECT e.action, e.run_id, e.processed_at
                        FROM de_enrollment_guard_events e
                       WHERE e.lead_id = l.id
                         AND e.campaign_id IS NOT DISTINCT FROM l.campaign_link_id
                         AND e.enrolled_at IS NOT DISTINCT FROM l.enrolled_at
                       ORDER BY e.id DESC
                       LIMIT 1) s
               WHERE EXISTS (SELECT FROM de_enrollment_lead_log x WHERE x.lead_id = l.id)
                  OR EXISTS (SELECT FROM de_enrollment_lead_log_archive x WHERE x.lead_id = l.id)
              OFFSET 0) g ON true
         WHERE l.client_id = ANY (v_active)
           AND de_enrollment_lead_due(l.is_active, l.completed_at, l.opted_out, l.booked_meeting,
                                      l.current_message_position, c.messages)
           AND (p_lead_ids IS NULL OR l.id = ANY (p_lead_ids))
           -- already recorded as skipped: left alone until an operator decides (no new row every pass)
           AND g.action IS DISTINCT FROM 'skipped'
         LIMIT p_limit
           FOR UPDATE OF l SKIP LOCKED
    ), updated AS (
        -- the locked version, by its address (a TID scan per lead instead of a primary-key descent)
        UPDATE leads l
           SET is_active = false,
               completed_at = CASE WHEN d.outcome = 'completed' THEN now() END,
               campaign_history = l.campaign_history || jsonb_build_array(jsonb_build_object(
                   'campaign_id', d.campaign_id, 'campaign_name', d.campaign_name,
                   'enrolled_at', d.enrolled_at, 'ended_at', now(),
                   'messages_received', d.position, 'outcome', d.outcome)),
               updated_at = now()
          FROM due d
         WHERE l.ctid = d.tid
           AND d.last_action IS DISTINCT FROM 'de_enrolled'
           AND d.last_action IS DISTINCT FROM 'resolved'
        RETURNING l.id, d.client_id, d.run_id, d.campaign_id, d.enrolled_at, d.position, d.outcome
    ), flagged AS (
        INSERT INTO de_enrollment_lead_log
               (run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received, error_message)
        SELECT d.run_id, d.id, d.client_id, d.campaign_id, d.enrolled_at, 'skipped', NULL, d.position,
               CASE WHEN d.last_action = 'de_enrolled'
                    THEN format('enrollment already de-enrolled by run %s at %s', d.last_run_id, d.last_at)
                    ELSE format('enrollment put back to de-enrolled by an operator at %s', d.last_at) END
               || '; left as it is until an operator decides (campaign-ops de-enroll resolve-skipped)'
          FROM due d
         WHERE d.last_action IN ('de_enrolled', 'resolved')
        RETURNING client_id
    ), logged AS (
        INSERT INTO de_enrollment_lead_log
               (run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received)
        SELECT u.run_id, u.id, u.client_id, u.campaign_id, u.enrolled_at, 'de_enrolled', u.outcome, u.position
          FROM updated u
        RETURNING client_id, campaign_id, outcome
    ), per_campaign AS (
        SELECT lg.campaign_id,
               count(*) FILTER (WHERE lg.outcome <> 'opted_out')::int AS left_active,
               count(*) FILTER (WHERE lg.outcome = 'completed')::int AS completed
          FROM logged lg
         GROUP BY lg.campaign_id
    ), per_client AS (
        SELECT r.client_id,
               coalesce(d.done, 0) AS done, coalesce(d.completed, 0) AS completed,
               coalesce(d.opted_out, 0) AS opted_out, coalesce(d.booked, 0) AS booked,
               coalesce(f.skipped, 0) AS skipped
          FROM runs r
          LEFT JOIN (SELECT lg.client_id, count(*)::int AS done,
                            count(*) FILTER (WHERE lg.outcome = 'completed')::int AS completed,
                            count(*) FILTER (WHERE lg.outcome = 'opted_out')::int AS opted_out,
                            count(*) FILTER (WHERE lg.outcome = 'booked')::int AS booked
                       FROM logged lg
                      GROUP BY lg.client_id) d ON d.client_id = r.client_id
          LEFT JOIN (SELECT fl.client_id, count(*)::int AS skipped
                       FROM flagged fl
                      GROUP BY fl.client_id) f ON f.client_id = r.client_id
    )
    SELECT (SELECT array_agg(pc.campaign_id ORDER BY pc.campaign_id) FROM per_campaign pc),
           (SELECT array_agg(pc.left_active ORDER BY pc.campaign_id) FROM per_campaign pc),
           (SELECT array_agg(pc.completed ORDER BY pc.campaign_id) FROM per_campaign pc),
           array_agg(p.client_id), array_agg(p.done), array_agg(p.completed), array_agg(p.opted_out),
           array_agg(p.booked), array_agg(p.skipped)
      INTO v_campaigns, v_left_active, v_completed,
           v_clients, v_done, v_done_completed, v_done_opted_out, v_done_booked, v_skipped
      FROM per_client p;
    -- flagged and logged run whether or not they are referenced (data-modifying CTEs always run to completion)

    IF v_campaigns IS NOT NULL THEN
        PERFORM 1 FROM campaigns WHERE id = ANY (v_campaigns) ORDER BY id FOR UPDATE;
        UPDATE campaigns c
           SET active_leads_count = greatest(c.active_leads_count - m.left_active, 0),
               completed_leads_count = c.completed_leads_count + m.completed,
               updated_at = now()
          FROM unnest(v_campaigns, v_left_active, v_completed) AS m(id, left_active, completed)
         WHERE c.id = m.id;
    END IF;
    RETURN QUERY
    SELECT * FROM unnest(v_clients, v_done, v_done_completed, v_done_opted_out, v_done_booked, v_skipped);
END
$$;
