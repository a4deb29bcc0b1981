-- After de-enrollment passes: settle the queue rows of the given clients (every row when :client_ids is NULL).
-- - a queued lead the rule no longer holds for was de-enrolled, or left the rule otherwise (opted back in,
--   re-activated elsewhere, deleted): its row goes, and the lead-log row that ended that enrollment gets the
--   row's due_since (latency = processed_at - due_since);
-- - a lead still due whose enrollment waits for an operator (newest guard event `skipped`) goes too:
--   passes leave it alone, so it is no work for the sensor;
-- - any other lead still due stays (its client's lock was held, the budget ran out, the platform held the row):
--   the next pass takes it.
-- A row marked again after this statement's snapshot keeps: the DELETE re-checks the version on the newest row.
WITH queued AS (
    SELECT q.lead_id, q.version, q.due_since, q.campaign_id, q.enrolled_at,
           coalesce(de_enrollment_lead_due(l.is_active, l.completed_at, l.opted_out, l.booked_meeting,
                                           l.current_message_position, c.messages), false) AS due,
           g.action AS last_action
      FROM de_enrollment_due_queue q
      LEFT JOIN leads l ON l.id = q.lead_id
      LEFT JOIN campaigns c ON c.id = l.campaign_link_id
      LEFT JOIN LATERAL (
          SELECT e.action
            FROM de_enrollment_guard_events e
           WHERE e.lead_id = q.lead_id
             AND e.campaign_id IS NOT DISTINCT FROM q.campaign_id
             AND e.enrolled_at IS NOT DISTINCT FROM q.enrolled_at
           ORDER BY e.id DESC
           LIMIT 1) g ON true
     WHERE CAST(:client_ids AS uuid[]) IS NULL OR q.client_id = ANY (CAST(:client_ids AS uuid[]))
), ended AS (
    -- the newest de-enrollment of the queued enrollment (a restored enrollment has an older one too)
    SELECT DISTINCT ON (q.lead_id) ll.id, q.due_since
      FROM queued q
      JOIN de_enrollment_lead_log ll
        ON ll.lead_id = q.lead_id AND ll.action = 'de_enrolled'
       AND ll.campaign_id IS NOT DISTINCT FROM q.campaign_id
       AND ll.enrolled_at IS NOT DISTINCT FROM q.enrolled_at
     WHERE NOT q.due
     ORDER BY q.lead_id, ll.id DESC
), recorded AS (
    UPDATE de_enrollment_lead_log ll
       SET due_since = e.due_since
      FROM ended e
     WHERE ll.id = e.id AND ll.due_since IS NULL
    RETURNING ll.id
), settled AS (
    DELETE FROM de_enrollment_due_queue d
     USING queued q
     WHERE d.lead_id = q.lead_id AND d.version = q.version
       AND (NOT q.due OR q.last_action = 'skipped')
    RETURNING d.lead_id
)
SELECT (SELECT count(*) FROM queued)   AS examined,
       (SELECT count(*) FROM recorded) AS recorded,
       (SELECT count(*) FROM settled)  AS settled
