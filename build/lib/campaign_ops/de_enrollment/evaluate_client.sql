-- What a pass examines: the client's active, not yet completed leads in a campaign; and those it must leave alone
-- because their campaign's messages is not a JSON array.
SELECT count(*) AS evaluated,
       count(*) FILTER (WHERE jsonb_typeof(c.messages) <> 'array') AS skipped,
       coalesce(string_agg(DISTINCT c.name || ' (' || c.id || ')', ', ')
                FILTER (WHERE jsonb_typeof(c.messages) <> 'array'), '') AS invalid_campaigns
  FROM leads l
  JOIN campaigns c ON c.id = l.campaign_link_id
 WHERE l.client_id = CAST(:client_id AS uuid)
   AND l.is_active
   AND l.completed_at IS NULL
