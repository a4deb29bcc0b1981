-- 0036: the stuck-lead rule, written once, as a view every query about stuck leads reads.
--
-- A lead is stuck when it is active, not completed, and its position reached the length of its campaign's
-- sequence (SOP "Verify data integrity" 6.2 and "Morning Health Check" 3): it should have been de-enrolled as
-- completed. A campaign whose messages is not a JSON array has no length and decides nothing: its leads are never
-- stuck (jsonb_array_length would raise and stop the whole query; the SOP's own query has no such guard).
-- Every client, active or not: whoever reads the view scopes it (the checks to the active clients by default).
--
-- A plain view: the planner inlines it, so a query over it is planned as the same joins written out (the partial
-- index leads_de_enrollment_candidates_idx, is_active AND completed_at IS NULL, serves a one-client scope).
-- sequence_length is guarded too: a condition on it pushed down to the campaigns scan must not raise either.
CREATE VIEW stuck_leads AS
SELECT l.id                       AS lead_id,
       l.client_id,
       c.id                       AS campaign_id,
       c.name                     AS campaign_name,
       l.current_message_position AS position,
       CASE WHEN jsonb_typeof(c.messages) = 'array' THEN jsonb_array_length(c.messages) END AS sequence_length
  FROM leads l
  JOIN campaigns c ON c.id = l.campaign_link_id
 WHERE l.is_active
   AND l.completed_at IS NULL
   AND l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                          THEN jsonb_array_length(c.messages) END;
