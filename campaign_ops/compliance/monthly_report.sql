-- A month's compliance figures per client, from the live and archived lead logs and the record of sends after
-- revocation: opt-outs honored (each lead that opted out, de-enrolled), the person's other enrollments revoked
-- with them, the time to honor (due moment -> de-enrolled; p50/p95/max over those whose due moment is known) and
-- the messages sent after revocation. Every active client is listed, and any other client with figures.
WITH log AS (
    SELECT client_id, processed_at, due_since, error_message
      FROM de_enrollment_lead_log
     WHERE processed_at >= CAST(:month_start AS timestamptz) AND processed_at < CAST(:month_end AS timestamptz)
       AND action = 'de_enrolled' AND outcome = 'opted_out'
    UNION ALL
    SELECT client_id, processed_at, due_since, error_message
      FROM de_enrollment_lead_log_archive
     WHERE processed_at >= CAST(:month_start AS timestamptz) AND processed_at < CAST(:month_end AS timestamptz)
       AND action = 'de_enrolled' AND outcome = 'opted_out'
), honored AS (
    SELECT client_id,
           count(*) FILTER (WHERE error_message IS NULL OR error_message NOT LIKE 'revoked with lead %')::int
               AS opt_outs_honored,
           count(*) FILTER (WHERE error_message LIKE 'revoked with lead %')::int AS other_enrollments_revoked,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - due_since))::float8 AS p50_s,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - due_since))::float8 AS p95_s,
           max(extract(epoch FROM processed_at - due_since))::float8 AS max_s
      FROM log
     GROUP BY client_id
), sends AS (
    SELECT client_id, count(*)::int AS sends_after_revocation, count(DISTINCT lead_id)::int AS leads_messaged
      FROM compliance_sends_after_revocation
     WHERE sent_at >= CAST(:month_start AS timestamptz) AND sent_at < CAST(:month_end AS timestamptz)
     GROUP BY client_id
)
SELECT cl.id::text AS client_id, cl.company_name AS client_name,
       coalesce(h.opt_outs_honored, 0) AS opt_outs_honored,
       coalesce(h.other_enrollments_revoked, 0) AS other_enrollments_revoked,
       h.p50_s, h.p95_s, h.max_s,
       coalesce(s.sends_after_revocation, 0) AS sends_after_revocation,
       coalesce(s.leads_messaged, 0) AS leads_messaged_after_revocation
  FROM clients cl
  LEFT JOIN honored h ON h.client_id = cl.id
  LEFT JOIN sends s ON s.client_id = cl.id
 WHERE cl.is_active OR h.client_id IS NOT NULL OR s.client_id IS NOT NULL
 ORDER BY cl.company_name, cl.id
