-- What a pass would examine, per client of a set, in one scan of their leads: the active, not yet completed leads
-- (evaluated), those it must leave alone because their campaign's messages is not a JSON array (skipped, and
-- those campaigns named) and those due now (due: the rule de_enroll_leads applies, de_enrollment_lead_due.sql; a
-- test holds the two equal). A client without such leads counts zeros. The sweep's triage and the start of every
-- pass, busy or quiet, count with it. Counted per client and campaign first, then per client: aggregating the
-- leads straight per client sorted every lead with its campaign's messages, spilling to disk at a million leads.
CREATE OR REPLACE FUNCTION de_enrollment_pass_counts(p_client_ids uuid[])
RETURNS TABLE (client_id uuid, evaluated bigint, skipped bigint, invalid_campaigns text, due bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH per_campaign AS (
        SELECT l.client_id, l.campaign_link_id,
               count(*) AS evaluated,
               count(*) FILTER (WHERE de_enrollment_lead_due(l.is_active, l.completed_at, l.opted_out,
                                                             l.booked_meeting, l.current_message_position,
                                                             c.messages)) AS due
          FROM leads l
          LEFT JOIN campaigns c ON c.id = l.campaign_link_id
         WHERE l.client_id = ANY (p_client_ids) AND l.is_active AND l.completed_at IS NULL
         GROUP BY l.campaign_link_id, l.client_id
    )
    SELECT s.id,
           coalesce(sum(p.evaluated), 0)::bigint,
           coalesce(sum(p.evaluated) FILTER (WHERE jsonb_typeof(c.messages) <> 'array'), 0)::bigint,
           coalesce(string_agg(DISTINCT c.name || ' (' || c.id || ')', ', ')
                    FILTER (WHERE jsonb_typeof(c.messages) <> 'array'), ''),
           coalesce(sum(p.due), 0)::bigint
      FROM unnest(p_client_ids) AS s(id)
      LEFT JOIN per_campaign p ON p.client_id = s.id
      LEFT JOIN campaigns c ON c.id = p.campaign_link_id
     GROUP BY s.id
$$;
