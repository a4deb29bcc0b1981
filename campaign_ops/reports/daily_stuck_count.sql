-- SOP "Morning Health Check" 3: check for stuck leads (verbatim; all clients, as the SOP counts them).
SELECT COUNT(*) as stuck_count
FROM leads l
JOIN campaigns c ON l.campaign_link_id = c.id
WHERE l.is_active = true
  AND l.completed_at IS NULL
  AND l.current_message_position >= jsonb_array_length(c.messages);
