-- Up to chunk_size due leads of one client, de-enrolled in one set-based statement (sql/objects/de_enroll_leads.sql),
-- and the chunk's figures, with the leads its revocation step revoked (revoked), added to the pass's run row in the
-- same statement: the row counts exactly what committed, whatever happens to the worker afterwards (the SOP's
-- SUM(leads_de_enrolled) stays right).
WITH done AS MATERIALIZED (
    SELECT d.*
      FROM de_enroll_leads(ARRAY[CAST(:client_id AS uuid)], ARRAY[CAST(:run_id AS uuid)], NULL, :chunk_size) d
), counted AS (
    UPDATE de_enrollment_runs r
       SET leads_de_enrolled = r.leads_de_enrolled + d.de_enrolled + CAST(:revoked AS integer),
           leads_skipped = r.leads_skipped + d.already_de_enrolled
      FROM done d
     WHERE r.id = CAST(:run_id AS uuid)
)
SELECT de_enrolled, completed, opted_out, booked, already_de_enrolled FROM done
