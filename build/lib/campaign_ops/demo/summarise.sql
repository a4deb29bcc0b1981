-- What a seed made, by the categories the demo and the tests check: clients (and how many inactive), campaigns,
-- leads, and the leads waiting for each kind of de-enrollment (completed sequence, opted out, booked) or already done.
SELECT (SELECT count(*) FROM clients WHERE id = ANY(:ids)),
       (SELECT count(*) FROM clients WHERE id = ANY(:ids) AND NOT is_active),
       (SELECT count(*) FROM campaigns WHERE client_id = ANY(:ids)),
       count(*),
       count(*) FILTER (WHERE l.is_active AND NOT l.opted_out AND NOT l.booked_meeting
                        AND l.current_message_position >= jsonb_array_length(c.messages)),
       count(*) FILTER (WHERE l.is_active AND l.opted_out),
       count(*) FILTER (WHERE l.is_active AND l.booked_meeting),
       count(*) FILTER (WHERE l.completed_at IS NOT NULL)
  FROM leads l JOIN campaigns c ON c.id = l.campaign_link_id
 WHERE l.client_id = ANY(:ids)
