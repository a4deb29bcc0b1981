-- Stuck leads per active client (the SOP's definition: active, not completed, position at or past the end of the
-- sequence). Inactive clients are left out: de-enrollment never touches them, so no one could act on the alert.
SELECT l.client_id::text AS client_id, cl.company_name, count(*) AS stuck
  FROM leads l
  JOIN campaigns c ON c.id = l.campaign_link_id
  JOIN clients cl ON cl.id = l.client_id AND cl.is_active
 WHERE l.is_active
   AND l.completed_at IS NULL
   AND l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                          THEN jsonb_array_length(c.messages) END
 GROUP BY l.client_id, cl.company_name
 ORDER BY stuck DESC, l.client_id
