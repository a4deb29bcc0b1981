-- The group's due leads de-enrolled in one call (sql/objects/de_enroll_leads.sql: one UPDATE … RETURNING feeding the
-- lead log and the counters) and each client's run row closed with what that call counted for it and the leads its
-- revocation step revoked (revoked, one per run id). A pass's duration is its share of the group's transaction so far.
WITH done AS MATERIALIZED (
    SELECT d.* FROM de_enroll_leads(CAST(:client_ids AS uuid[]), CAST(:run_ids AS uuid[]), NULL, NULL) d
)
UPDATE de_enrollment_runs r
   SET status = 'success',
       leads_de_enrolled = r.leads_de_enrolled + d.de_enrolled + v.revoked,
       leads_skipped = r.leads_skipped + d.already_de_enrolled,
       duration_ms = (extract(epoch FROM clock_timestamp() - now()) * 1000
                      / greatest(cardinality(CAST(:run_ids AS uuid[])), 1))::int,
       finished_at = now()
  FROM done d, unnest(CAST(:run_ids AS uuid[]), CAST(:revoked AS integer[])) AS v(run_id, revoked)
 WHERE r.id = v.run_id
   AND r.client_id = d.client_id
RETURNING r.client_id::text, r.id::text AS run_row_id, r.status, r.leads_evaluated, r.leads_de_enrolled,
          r.leads_skipped, d.completed, d.opted_out, d.booked, d.already_de_enrolled, r.duration_ms, r.error_details
