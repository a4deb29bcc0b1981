-- 0023 (issue 4): stats reconciliation: the drift log and the drift computation.
--
-- Every counter a reconciliation finds wrong is written here, with what the campaign reported and what the leads
-- say, BEFORE the campaign is corrected (in the same transaction): the log is the audit trail of every correction.
-- A dry run writes nothing (it changes nothing, as the issue asks); its findings are returned to the caller.
-- No foreign keys to campaigns or clients on purpose: the audit trail must outlive the rows it describes
-- (a campaign or client removed later keeps its reconciliation history).

CREATE TABLE stats_reconciliation_log (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reconciliation_id uuid        NOT NULL,
    reconciled_at     timestamptz NOT NULL DEFAULT now(),
    client_id         uuid        NOT NULL,
    campaign_id       uuid        NOT NULL,
    counter           text        NOT NULL,
    reported          integer     NOT NULL,
    actual            integer     NOT NULL,
    difference        integer     GENERATED ALWAYS AS (actual - reported) STORED,
    dagster_run_id    text,
    CONSTRAINT stats_reconciliation_log_counter_known CHECK (counter IN (
        'active_leads_count', 'completed_leads_count', 'opted_out_count', 'booked_count')),
    CONSTRAINT stats_reconciliation_log_is_drift CHECK (reported <> actual),
    CONSTRAINT stats_reconciliation_log_one_per_counter UNIQUE (reconciliation_id, campaign_id, counter)
);
CREATE INDEX stats_reconciliation_log_client_time_idx ON stats_reconciliation_log (client_id, reconciled_at DESC);
CREATE INDEX stats_reconciliation_log_campaign_idx ON stats_reconciliation_log (campaign_id);

-- A client's campaign counters that differ from its leads, one row per (campaign, counter). The definitions are
-- refresh_campaign_counters' (0021): active = is_active AND NOT opted_out, completed = completed_at IS NOT NULL,
-- opted out = opted_out, booked = booked_meeting.
CREATE FUNCTION campaign_counter_drift(p_client_id uuid)
RETURNS TABLE (campaign_id uuid, counter text, reported integer, actual integer)
LANGUAGE sql STABLE AS $$
    WITH actual AS (
        SELECT c.id,
               c.active_leads_count, c.completed_leads_count, c.opted_out_count, c.booked_count,
               count(l.id) FILTER (WHERE l.is_active AND NOT l.opted_out)::int AS active,
               count(l.id) FILTER (WHERE l.completed_at IS NOT NULL)::int     AS completed,
               count(l.id) FILTER (WHERE l.opted_out)::int                    AS opted_out,
               count(l.id) FILTER (WHERE l.booked_meeting)::int               AS booked
          FROM campaigns c
          LEFT JOIN leads l ON l.campaign_link_id = c.id
         WHERE c.client_id = p_client_id
         GROUP BY c.id
    )
    SELECT a.id, v.counter, v.reported, v.actual
      FROM actual a
     CROSS JOIN LATERAL (VALUES
               ('active_leads_count',    a.active_leads_count,    a.active),
               ('completed_leads_count', a.completed_leads_count, a.completed),
               ('opted_out_count',       a.opted_out_count,       a.opted_out),
               ('booked_count',          a.booked_count,          a.booked)) AS v (counter, reported, actual)
     WHERE v.reported <> v.actual
     ORDER BY a.id, v.counter
$$;
