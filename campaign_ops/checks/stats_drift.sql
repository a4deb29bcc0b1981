-- Campaigns whose reported counters differ from their leads by more than the tolerance, worst first.
-- "Active" by both of the SOP's definitions: is_active AND opted_out = false ("Campaign Stats Drift", "Fix
-- Stats") and is_active alone ("Verify data integrity" 6.2, Level 3); plus completed, opted out and booked
-- (the definitions refresh_campaign_counters uses). Scope as in stuck_leads_by_client.sql. With each campaign, the
-- Dagster run of its client's newest de-enrollment pass when that pass failed: a pass settles the counters of
-- the campaigns it touches, so drift behind a failing de-enrollment is fixed by fixing the de-enrollment.
WITH scoped AS (
    SELECT id, company_name
      FROM clients
     WHERE (CAST(:client_ids AS uuid[]) IS NULL AND is_active) OR id = ANY(CAST(:client_ids AS uuid[]))
), actual AS (
    SELECT c.id, c.client_id, s.company_name, c.name,
           c.active_leads_count, c.completed_leads_count, c.opted_out_count, c.booked_count,
           count(l.id) FILTER (WHERE l.is_active AND l.opted_out = false) AS active_not_opted_out,
           count(l.id) FILTER (WHERE l.is_active)                          AS active_any,
           count(l.id) FILTER (WHERE l.completed_at IS NOT NULL)          AS completed,
           count(l.id) FILTER (WHERE l.opted_out)                         AS opted_out,
           count(l.id) FILTER (WHERE l.booked_meeting)                    AS booked
      FROM campaigns c
      JOIN scoped s ON s.id = c.client_id
      LEFT JOIN leads l ON l.campaign_link_id = c.id
     GROUP BY c.id, s.company_name
), differences AS (
    SELECT a.*,
           abs(a.active_leads_count - a.active_not_opted_out) AS active_difference,
           abs(a.active_leads_count - a.active_any)           AS active_any_difference,
           abs(a.completed_leads_count - a.completed)         AS completed_difference,
           abs(a.opted_out_count - a.opted_out)               AS opted_out_difference,
           abs(a.booked_count - a.booked)                     AS booked_difference
      FROM actual a
)
SELECT d.id::text AS campaign_id, d.client_id::text AS client_id, d.company_name AS client_name,
       d.name AS campaign_name,
       d.active_leads_count, d.active_not_opted_out, d.active_any,
       d.completed_leads_count, d.completed, d.opted_out_count, d.opted_out, d.booked_count, d.booked,
       greatest(d.active_difference, d.active_any_difference, d.completed_difference,
                d.opted_out_difference, d.booked_difference) AS largest_difference,
       CASE WHEN p.status = 'failed' THEN coalesce(p.dagster_run_id, '') END AS failing_de_enrollment_run
  FROM differences d
  LEFT JOIN LATERAL (
      SELECT r.status, r.dagster_run_id
        FROM de_enrollment_runs r
       WHERE r.client_id = d.client_id AND r.status IN ('success', 'partial', 'failed')
       ORDER BY r.run_at DESC
       LIMIT 1) p ON true
 WHERE greatest(d.active_difference, d.active_any_difference, d.completed_difference,
                d.opted_out_difference, d.booked_difference) > :tolerance
 ORDER BY largest_difference DESC, d.id
