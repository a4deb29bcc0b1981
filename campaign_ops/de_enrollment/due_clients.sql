-- The active clients with leads due for de-enrollment now, read from the queue only: its cost grows with the
-- queue (the leads that became due since their last pass), not with all leads. A queued lead counts while the rule
-- still holds for it (de_enrollment_lead_due with the joins of de_enroll_client_leads: its campaign, an active
-- client); the rows of leads that are no longer due are settled away after the next pass.
SELECT q.client_id::text AS client_id,
       count(*)          AS due,
       min(q.due_since)  AS oldest_due_since
  FROM de_enrollment_due_queue q
  JOIN leads l ON l.id = q.lead_id
  JOIN campaigns c ON c.id = l.campaign_link_id
  JOIN clients cl ON cl.id = l.client_id AND cl.is_active
 WHERE de_enrollment_lead_due(l.is_active, l.completed_at, l.opted_out, l.booked_meeting,
                              l.current_message_position, c.messages) IS TRUE
 GROUP BY q.client_id
 ORDER BY min(q.due_since), q.client_id
