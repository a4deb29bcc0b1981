-- One statement over all the given clients: what each pass would examine and how many leads are due now.
-- `due` uses the predicate of de_enroll_client_leads (sql/0021; a test holds the two equal): clients with
-- nothing due get their pass recorded set-based, only the others are worked on.
SELECT s.id::text AS client_id,
       count(l.id) AS evaluated,
       count(l.id) FILTER (WHERE jsonb_typeof(c.messages) <> 'array') AS skipped,
       coalesce(string_agg(DISTINCT c.name || ' (' || c.id || ')', ', ')
                FILTER (WHERE jsonb_typeof(c.messages) <> 'array'), '') AS invalid_campaigns,
       count(l.id) FILTER (WHERE l.opted_out OR l.booked_meeting
                           OR l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                                                 THEN jsonb_array_length(c.messages) END) AS due
  FROM unnest(CAST(:client_ids AS uuid[])) AS s(id)
  LEFT JOIN leads l ON l.client_id = s.id AND l.is_active AND l.completed_at IS NULL
  LEFT JOIN campaigns c ON c.id = l.campaign_link_id
 GROUP BY s.id
