-- The physical limit the benchmark compares against: the same de-enrollment work for ALL active clients in one
-- set-based statement (leads updated with their history entry, one lead-log row each), then the counters of the
-- touched campaigns recomputed, in one transaction, with no per-client locks, runs, budget or chunks.
WITH run AS (
    INSERT INTO de_enrollment_runs (client_id, status)
    SELECT id, 'success' FROM clients WHERE is_active
    RETURNING id, client_id
), due AS (
    SELECT l.id, l.client_id, c.id AS campaign_id, c.name AS campaign_name, l.enrolled_at,
           l.current_message_position AS position,
           CASE WHEN l.opted_out THEN 'opted_out' WHEN l.booked_meeting THEN 'booked' ELSE 'completed' END AS outcome
      FROM leads l
      JOIN campaigns c ON c.id = l.campaign_link_id
      JOIN clients cl ON cl.id = l.client_id AND cl.is_active
     WHERE l.is_active AND l.completed_at IS NULL
       AND (l.opted_out OR l.booked_meeting
            OR l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                                  THEN jsonb_array_length(c.messages) END)
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
    RETURNING l.id, d.client_id, d.campaign_id, d.enrolled_at, d.position, d.outcome
)
INSERT INTO de_enrollment_lead_log
       (run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received)
SELECT r.id, u.id, u.client_id, u.campaign_id, u.enrolled_at, 'de_enrolled', u.outcome, u.position
  FROM updated u JOIN run r ON r.client_id = u.client_id;

SELECT refresh_campaign_counters(array_agg(id)) FROM campaigns;
