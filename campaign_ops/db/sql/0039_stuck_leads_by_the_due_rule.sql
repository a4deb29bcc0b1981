-- 0039: the stuck-lead view reads the due rule instead of writing "the sequence is finished" out again.
--
-- 0036's view wrote the test (position reached the length of a JSON-array messages) a second time beside
-- de_enrollment_lead_due (0035), the rule de-enrollment applies. A stuck lead is exactly a lead due on its sequence
-- alone: active, not completed, and finished, whether or not it also opted out or booked (the SOP's stuck query
-- ignores both). So the view asks the due rule with opted_out and booked_meeting given as false: one home for the
-- rule, and a change to it reaches de-enrollment, the due queue and every stuck-lead count together.
-- The function is an SQL expression the planner inlines (constant-folding the two false arguments): the view is
-- planned as the same joins and filters as 0036's.
CREATE OR REPLACE VIEW stuck_leads AS
SELECT l.id                       AS lead_id,
       l.client_id,
       c.id                       AS campaign_id,
       c.name                     AS campaign_name,
       l.current_message_position AS position,
       CASE WHEN jsonb_typeof(c.messages) = 'array' THEN jsonb_array_length(c.messages) END AS sequence_length
  FROM leads l
  JOIN campaigns c ON c.id = l.campaign_link_id
 WHERE de_enrollment_lead_due(l.is_active, l.completed_at, false, false, l.current_message_position, c.messages);
