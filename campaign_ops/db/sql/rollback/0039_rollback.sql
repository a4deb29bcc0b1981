-- Rollback of 0039: the stuck-lead view as 0036 wrote it (the sequence test written out).
CREATE OR REPLACE VIEW stuck_leads AS
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
