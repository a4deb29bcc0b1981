-- 0021 (SOP): de-enrollment monitoring tables, the SQL functions operators' runbooks call, and the health view.

CREATE TABLE de_enrollment_runs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_at            timestamptz NOT NULL DEFAULT now(),
    client_id         uuid        NOT NULL REFERENCES clients (id),
    status            text        NOT NULL DEFAULT 'running',
    leads_evaluated   integer     NOT NULL DEFAULT 0,
    leads_de_enrolled integer     NOT NULL DEFAULT 0,
    leads_skipped     integer     NOT NULL DEFAULT 0,
    duration_ms       integer,
    error_details     text,
    batch_size        integer,
    dagster_run_id    text,
    finished_at       timestamptz,
    CONSTRAINT de_enrollment_runs_status_known
        CHECK (status IN ('running', 'success', 'partial', 'failed', 'skipped')),
    CONSTRAINT de_enrollment_runs_counts_non_negative
        CHECK (leads_evaluated >= 0 AND leads_de_enrolled >= 0 AND leads_skipped >= 0
               AND (duration_ms IS NULL OR duration_ms >= 0))
);
CREATE INDEX de_enrollment_runs_client_run_at_idx ON de_enrollment_runs (client_id, run_at DESC);
CREATE INDEX de_enrollment_runs_run_at_idx ON de_enrollment_runs (run_at);

CREATE TABLE de_enrollment_lead_log (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id            uuid        NOT NULL REFERENCES de_enrollment_runs (id),
    lead_id           uuid        NOT NULL REFERENCES leads (id),
    -- denormalised from the lead for per-client queries; no foreign key: lead_id's already guarantees it, and a
    -- second per-row check costs ~2 s per 350k de-enrollments (measured, BENCHMARKS.md)
    client_id         uuid        NOT NULL,
    campaign_id       uuid,
    enrolled_at       timestamptz,
    action            text        NOT NULL,
    outcome           text,
    messages_received integer,
    error_message     text,
    processed_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT de_enrollment_lead_log_action_known CHECK (action IN ('de_enrolled', 'skipped', 'error')),
    CONSTRAINT de_enrollment_lead_log_outcome_known
        CHECK (outcome IS NULL OR outcome IN ('completed', 'opted_out', 'booked')),
    CONSTRAINT de_enrollment_lead_log_messages_non_negative CHECK (messages_received >= 0)
);
CREATE INDEX de_enrollment_lead_log_run_id_idx ON de_enrollment_lead_log (run_id);
CREATE INDEX de_enrollment_lead_log_lead_id_idx ON de_enrollment_lead_log (lead_id);
CREATE INDEX de_enrollment_lead_log_processed_at_idx ON de_enrollment_lead_log (processed_at);
-- One de-enrollment per enrollment of a lead in a campaign: a second one is refused by the database.
CREATE UNIQUE INDEX de_enrollment_lead_log_one_per_enrollment_idx
    ON de_enrollment_lead_log (lead_id, campaign_id, enrolled_at) NULLS NOT DISTINCT
    WHERE action = 'de_enrolled';

-- Key of the per-client advisory lock that de-enrollment and reconciliation share.
CREATE FUNCTION client_lock_key(p_client_id uuid) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hashtextextended('campaign_ops:client:' || p_client_id::text, 0) $$;

-- Campaign counters recomputed from the leads (the definitions reconciliation uses too):
-- active = is_active AND NOT opted_out, completed = completed_at IS NOT NULL.
CREATE FUNCTION refresh_campaign_counters(p_campaign_ids uuid[]) RETURNS integer
    LANGUAGE sql AS $$
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
    SELECT count(*)::int FROM changed
$$;

-- The single place the de-enrollment rules live; every path (the sweep, the SOP's batch function) calls it.
-- A lead of an active client that is active and not completed is de-enrolled when it
--   opted out (outcome opted_out), booked a meeting (booked), or reached the end of its sequence (completed).
-- Each de-enrolled lead gets one campaign_history entry and one lead-log row; its campaign's counters are
-- recomputed in the same transaction. Leads of campaigns whose messages is not a JSON array are left alone.
CREATE FUNCTION de_enroll_client_leads(
    p_run_id uuid, p_client_id uuid, p_lead_ids uuid[] DEFAULT NULL, p_limit integer DEFAULT NULL)
RETURNS TABLE (de_enrolled integer, completed integer, opted_out integer, booked integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_campaign_ids uuid[];
BEGIN
    WITH due AS (
        SELECT l.id, c.id AS campaign_id, c.name AS campaign_name, l.enrolled_at,
               l.current_message_position AS position,
               CASE WHEN l.opted_out THEN 'opted_out'
                    WHEN l.booked_meeting THEN 'booked'
                    ELSE 'completed' END AS outcome
          FROM leads l
          JOIN campaigns c ON c.id = l.campaign_link_id
          JOIN clients cl ON cl.id = l.client_id AND cl.is_active
         WHERE l.client_id = p_client_id
           AND l.is_active AND l.completed_at IS NULL
           AND (l.opted_out OR l.booked_meeting
                OR l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                                      THEN jsonb_array_length(c.messages) END)
           AND (p_lead_ids IS NULL OR l.id = ANY (p_lead_ids))
         LIMIT p_limit
           FOR UPDATE OF l SKIP LOCKED
    ), updated AS (
        UPDATE leads l
           SET is_active = false,
               completed_at = CASE WHEN d.outcome = 'completed' THEN now() END,
               campaign_history = l.campaign_history || jsonb_build_array(jsonb_build_object(
                   'campaign_id', d.campaign_id, 'campaign_name', d.campaign_name,
                   'enrolled_at', d.enrolled_at, 'ended_at', now(),
                   'messages_received', d.position, 'outcome', d.outcome)),
               updated_at = now()
          FROM due d
         WHERE l.id = d.id
        RETURNING l.id, d.campaign_id, d.enrolled_at, d.position, d.outcome
    ), logged AS (
        INSERT INTO de_enrollment_lead_log
               (run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received)
        SELECT p_run_id, u.id, p_client_id, u.campaign_id, u.enrolled_at, 'de_enrolled', u.outcome, u.position
          FROM updated u
        RETURNING campaign_id, outcome
    )
    SELECT count(*)::int,
           count(*) FILTER (WHERE lg.outcome = 'completed')::int,
           count(*) FILTER (WHERE lg.outcome = 'opted_out')::int,
           count(*) FILTER (WHERE lg.outcome = 'booked')::int,
           array_agg(DISTINCT lg.campaign_id)
      INTO de_enrolled, completed, opted_out, booked, v_campaign_ids
      FROM logged lg;

    IF de_enrolled > 0 THEN
        PERFORM refresh_campaign_counters(v_campaign_ids);
    END IF;
    RETURN NEXT;
END
$$;

-- SOP: a locked batch of a client's leads that are due for de-enrollment, after p_last_processed_id.
CREATE FUNCTION get_leads_for_de_enrollment(
    p_client_id uuid, p_batch_size integer DEFAULT 100, p_last_processed_id uuid DEFAULT NULL)
RETURNS TABLE (lead_id uuid, campaign_id uuid, campaign_name text, current_message_position integer,
               total_messages integer, outcome text)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_batch_size IS NULL OR p_batch_size <= 0 THEN
        RAISE EXCEPTION 'batch size must be positive, got %', p_batch_size;
    END IF;
    RETURN QUERY
    SELECT l.id, c.id, c.name, l.current_message_position, CASE WHEN jsonb_typeof(c.messages) = 'array' THEN jsonb_array_length(c.messages) END,
           CASE WHEN l.opted_out THEN 'opted_out' WHEN l.booked_meeting THEN 'booked' ELSE 'completed' END
      FROM leads l
      JOIN campaigns c ON c.id = l.campaign_link_id
      JOIN clients cl ON cl.id = l.client_id AND cl.is_active
     WHERE l.client_id = p_client_id
       AND l.is_active AND l.completed_at IS NULL
       AND (l.opted_out OR l.booked_meeting
            OR l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                                  THEN jsonb_array_length(c.messages) END)
       AND (p_last_processed_id IS NULL OR l.id > p_last_processed_id)
     ORDER BY l.id
     LIMIT p_batch_size
       FOR UPDATE OF l SKIP LOCKED;
END
$$;

-- SOP: apply one batch atomically for the run's client; leads no longer due are ignored (idempotent).
CREATE FUNCTION process_de_enrollment_batch(p_run_id uuid, p_lead_ids uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_client_id uuid;
    v_count integer;
BEGIN
    SELECT client_id INTO v_client_id FROM de_enrollment_runs WHERE id = p_run_id;
    IF v_client_id IS NULL THEN
        RAISE EXCEPTION 'unknown de-enrollment run %', p_run_id;
    END IF;
    SELECT r.de_enrolled INTO v_count FROM de_enroll_client_leads(p_run_id, v_client_id, p_lead_ids) r;
    RETURN v_count;
END
$$;

-- SOP: per-client health over the last 24 hours (active clients only).
CREATE VIEW de_enrollment_health AS
SELECT c.id AS client_id,
       c.company_name,
       count(r.id) FILTER (WHERE r.run_at > now() - interval '24 hours')                          AS total_runs_24h,
       count(r.id) FILTER (WHERE r.run_at > now() - interval '24 hours' AND r.status = 'success') AS successful_runs_24h,
       count(r.id) FILTER (WHERE r.run_at > now() - interval '24 hours' AND r.status = 'failed')  AS failed_runs_24h,
       count(r.id) FILTER (WHERE r.run_at > now() - interval '24 hours' AND r.status = 'partial') AS partial_runs_24h,
       round(100.0 * count(r.id) FILTER (WHERE r.run_at > now() - interval '24 hours' AND r.status = 'success')
             / NULLIF(count(r.id) FILTER (WHERE r.run_at > now() - interval '24 hours'
                                          AND r.status <> 'skipped'), 0), 2)                      AS success_rate_24h,
       avg(r.duration_ms) FILTER (WHERE r.run_at > now() - interval '24 hours')                   AS avg_duration_ms_24h,
       COALESCE(sum(r.leads_de_enrolled) FILTER (WHERE r.run_at > now() - interval '24 hours'), 0) AS leads_de_enrolled_24h,
       max(r.run_at)                                                                              AS last_run_at,
       max(r.run_at) FILTER (WHERE r.status = 'success')                                          AS last_success_at,
       -- a client that never succeeded counts from when it was created
       round((extract(epoch FROM now() - COALESCE(max(r.run_at) FILTER (WHERE r.status = 'success'),
                                                   c.created_at)) / 3600.0)::numeric, 2)          AS hours_since_success
  FROM clients c
  LEFT JOIN de_enrollment_runs r ON r.client_id = c.id
 WHERE c.is_active
 GROUP BY c.id, c.company_name, c.created_at;
