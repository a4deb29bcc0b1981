-- The SOP's stuck-leads definition, per client.
SELECT l.client_id::text, count(*)
  FROM leads l
  JOIN campaigns c ON l.campaign_link_id = c.id
 WHERE l.is_active = true
   AND l.completed_at IS NULL
   AND l.current_message_position >= jsonb_array_length(c.messages)
 GROUP BY l.client_id
