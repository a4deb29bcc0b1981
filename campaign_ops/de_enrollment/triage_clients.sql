-- One statement over all the given clients: what each pass would examine and how many leads are due now.
-- `due` is the rule de_enroll_leads applies (sql/objects/de_enrollment_lead_due.sql, inlined by the planner; a test
-- holds the two equal): clients with nothing due get their pass recorded set-based, only the others are worked on.
-- Counted per client and campaign first, then per client: aggregating the leads straight per client sorted every
-- lead with its campaign's messages, spilling to disk at a million leads.
WITH per_campaign AS (
    SELECT l.client_id, l.campaign_link_id,
           count(*) AS evaluated,
           count(*) FILTER (WHERE de_enrollment_lead_due(l.is_active, l.completed_at, l.opted_out, l.booked_meeting,
                                                         l.current_message_position, c.messages)) AS due
      FROM leads l
      LEFT JOIN campaigns c ON c.id = l.campaign_link_id
     WHERE l.client_id = ANY (CAST(:client_ids AS uuid[])) AND l.is_active AND l.completed_at IS NULL
     GROUP BY l.campaign_link_id, l.client_id
)
SELECT s.id::text AS client_id,
       coalesce(sum(p.evaluated), 0)::bigint AS evaluated,
       coalesce(sum(p.evaluated) FILTER (WHERE jsonb_typeof(c.messages) <> 'array'), 0)::bigint AS skipped,
       coalesce(string_agg(DISTINCT c.name || ' (' || c.id || ')', ', ')
                FILTER (WHERE jsonb_typeof(c.messages) <> 'array'), '') AS invalid_campaigns,
       coalesce(sum(p.due), 0)::bigint AS due
  FROM unnest(CAST(:client_ids AS uuid[])) AS s(id)
  LEFT JOIN per_campaign p ON p.client_id = s.id
  LEFT JOIN campaigns c ON c.id = p.campaign_link_id
 GROUP BY s.id
