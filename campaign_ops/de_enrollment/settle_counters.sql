-- After a transaction's de-enrollments, in that transaction: the counters of every campaign whose leads it
-- de-enrolled are made to match the leads by the SOP's definitions (refresh_campaign_counters': active =
-- is_active AND NOT opted_out, completed = completed_at IS NOT NULL, opted out, booked). de_enroll_leads moves
-- counters by what it de-enrolls, which is right only if the platform moved them when it flipped a lead's opt-out
-- or booking; a platform that only flips the flag leaves one of drift per opt-out. Whatever differs is logged in
-- stats_reconciliation_log (reported, actual, this Dagster run) before it is corrected, as reconciliation does.
-- :campaign_ids are the campaigns of the transaction's lead-log rows (touched_campaigns.sql), already locked in
-- id order by de_enroll_leads; given as a bound array so that the planner sees how many they are (a sweep's few
-- hundred are counted in one scan of the leads, a due run's one or two through the campaign index).
WITH actual AS (
    SELECT c.id, c.client_id,
           c.active_leads_count, c.completed_leads_count, c.opted_out_count, c.booked_count,
           count(l.id) FILTER (WHERE l.is_active AND NOT l.opted_out)::int AS active,
           count(l.id) FILTER (WHERE l.completed_at IS NOT NULL)::int     AS completed,
           count(l.id) FILTER (WHERE l.opted_out)::int                    AS opted_out,
           count(l.id) FILTER (WHERE l.booked_meeting)::int               AS booked
      FROM campaigns c
      LEFT JOIN leads l ON l.campaign_link_id = c.id
     WHERE c.id = ANY (CAST(:campaign_ids AS uuid[]))
     GROUP BY c.id
), drift AS (
    SELECT a.id, a.client_id, v.counter, v.reported, v.actual
      FROM actual a
     CROSS JOIN LATERAL (VALUES ('active_leads_count', a.active_leads_count, a.active),
                                ('completed_leads_count', a.completed_leads_count, a.completed),
                                ('opted_out_count', a.opted_out_count, a.opted_out),
                                ('booked_count', a.booked_count, a.booked)) AS v(counter, reported, actual)
     WHERE v.reported <> v.actual
), logged AS (
    INSERT INTO stats_reconciliation_log
           (reconciliation_id, client_id, campaign_id, counter, reported, actual, dagster_run_id)
    SELECT CAST(:reconciliation_id AS uuid), d.client_id, d.id, d.counter, d.reported, d.actual,
           (SELECT r.dagster_run_id FROM de_enrollment_runs r WHERE r.id = ANY (CAST(:run_ids AS uuid[])) LIMIT 1)
      FROM drift d
), corrected AS (
    UPDATE campaigns c
       SET active_leads_count = a.active, completed_leads_count = a.completed,
           opted_out_count = a.opted_out, booked_count = a.booked, updated_at = now()
      FROM actual a
     WHERE c.id = a.id
       AND c.id IN (SELECT d.id FROM drift d)
    RETURNING c.id
)
SELECT count(*) AS campaigns_corrected FROM corrected
