-- The cheapest correct statement the benchmark compares against: the same observable de-enrollment work for ALL
-- active clients (each lead flipped with its campaign_history entry, one lead-log row with client, campaign and
-- enrolled_at, one run row per client, counters updated) as ONE statement: an UPDATE … RETURNING feeding the
-- lead-log INSERT and an incremental counter UPDATE. No separate locking SELECT (the UPDATE locks its rows), no
-- recount of every campaign, no per-client locks, budget or chunks. The counters move as de-enrollment moves
-- them: a de-enrolled lead that was not opted out leaves active_leads_count; a completed one joins
-- completed_leads_count (opted_out/booked flags do not change).
WITH run AS (
    INSERT INTO de_enrollment_runs (client_id, status)
    SELECT id, 'success' FROM clients WHERE is_active
    RETURNING id, client_id
), updated AS (
    UPDATE leads l
       SET is_active = false,
           completed_at = CASE WHEN NOT l.opted_out AND NOT l.booked_meeting THEN now() END,
           campaign_history = l.campaign_history || jsonb_build_array(jsonb_build_object(
               'campaign_id', c.id, 'campaign_name', c.name,
               'enrolled_at', l.enrolled_at, 'ended_at', now(),
               'messages_received', l.current_message_position,
               'outcome', CASE WHEN l.opted_out THEN 'opted_out' WHEN l.booked_meeting THEN 'booked'
                               ELSE 'completed' END)),
           updated_at = now()
      FROM campaigns c, clients cl
     WHERE c.id = l.campaign_link_id AND cl.id = l.client_id AND cl.is_active
       AND l.is_active AND l.completed_at IS NULL
       AND (l.opted_out OR l.booked_meeting
            OR l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                                  THEN jsonb_array_length(c.messages) END)
    RETURNING l.id, l.client_id, c.id AS campaign_id, l.enrolled_at, l.current_message_position AS position,
              l.opted_out,
              CASE WHEN l.opted_out THEN 'opted_out' WHEN l.booked_meeting THEN 'booked'
                   ELSE 'completed' END AS outcome
), logged AS (
    INSERT INTO de_enrollment_lead_log
           (run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received)
    SELECT r.id, u.id, u.client_id, u.campaign_id, u.enrolled_at, 'de_enrolled', u.outcome, u.position
      FROM updated u JOIN run r ON r.client_id = u.client_id
), moved AS (
    SELECT campaign_id,
           count(*) FILTER (WHERE NOT opted_out) AS left_active,
           count(*) FILTER (WHERE outcome = 'completed') AS completed
      FROM updated
     GROUP BY campaign_id
)
UPDATE campaigns c
   SET active_leads_count = c.active_leads_count - m.left_active,
       completed_leads_count = c.completed_leads_count + m.completed,
       updated_at = now()
  FROM moved m
 WHERE c.id = m.campaign_id;
