-- The SOP's stuck-leads definition, per client (every client: the migration report shows inactive ones too). A
-- legacy campaign whose messages is not a JSON array has no length and is never counted (jsonb_array_length
-- would raise and stop the whole report).
SELECT l.client_id::text, count(*)
  FROM leads l
  JOIN campaigns c ON l.campaign_link_id = c.id
 WHERE l.is_active = true
   AND l.completed_at IS NULL
   AND l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                          THEN jsonb_array_length(c.messages) END
 GROUP BY l.client_id
