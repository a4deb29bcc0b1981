-- Campaign counters recomputed from the leads (active = is_active AND NOT opted_out, completed = completed_at IS NOT
-- NULL; the definitions reconciliation uses too). Safe however it is called (the SOP has operators call the batch
-- functions by hand): the campaign rows are locked first, and the recount is a LATER statement, so its snapshot
-- sees every writer that committed before the lock was granted (a recount in the locking statement would write
-- figures from before the other writer's commit: a lost update).
CREATE OR REPLACE FUNCTION refresh_campaign_counters(p_campaign_ids uuid[]) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    v_changed integer;
BEGIN
    PERFORM 1 FROM campaigns WHERE id = ANY (p_campaign_ids) ORDER BY id FOR UPDATE;
    WITH actual AS (
        SELECT c.id,
               count(l.id) FILTER (WHERE l.is_active AND NOT l.opted_out) AS active,
               count(l.id) FILTER (WHERE l.completed_at IS NOT NULL)     AS completed,
               count(l.id) FILTER (WHERE l.opted_out)                    AS opted_out,
               count(l.id) FILTER (WHERE l.booked_meeting)               AS booked
          FROM campaigns c
          LEFT JOIN leads l ON l.campaign_link_id = c.id
         WHERE c.id = ANY (p_campaign_ids)
         GROUP BY c.id
    ), changed AS (
        UPDATE campaigns c
           SET active_leads_count = a.active, completed_leads_count = a.completed,
               opted_out_count = a.opted_out, booked_count = a.booked, updated_at = now()
          FROM actual a
         WHERE c.id = a.id
           AND (c.active_leads_count, c.completed_leads_count, c.opted_out_count, c.booked_count)
               IS DISTINCT FROM (a.active::int, a.completed::int, a.opted_out::int, a.booked::int)
        RETURNING 1
    )
    SELECT count(*)::int INTO v_changed FROM changed;
    RETURN v_changed;
END
$$;
