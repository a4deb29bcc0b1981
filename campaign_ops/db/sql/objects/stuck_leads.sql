-- The stuck-lead rule, written once: a lead is stuck when it is active, not completed, and its position reached the
-- length of its campaign's sequence (SOP "Verify data integrity" 6.2 and "Morning Health Check" 3): it should have
-- been de-enrolled as completed. That is exactly a lead due on its sequence alone, so the view asks the due rule
-- with opted_out and booked_meeting given as false (the SOP's stuck query ignores both): a change to the rule reaches
-- de-enrollment, the due queue and every stuck-lead count together. A campaign whose messages is not a JSON array
-- has no length and decides nothing (the SOP's own query would raise there); sequence_length is guarded too, as a
-- condition on it may be pushed down to the campaigns scan. Every client, active or not: readers scope it. The
-- planner inlines view and function: a query over it is planned as the joins written out.
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
