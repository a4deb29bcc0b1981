-- The figures of one SOP batch (process_de_enrollment_batch returns only the total): the outcome split of its
-- de-enrolled leads and the leads it left alone because their enrollment was already de-enrolled; added, with the
-- leads the batch's revocation step revoked (revoked), to the pass's run row in the batch's own transaction, so the
-- row counts exactly what committed, whatever happens to the worker afterwards (the SOP's SUM(leads_de_enrolled)
-- stays right).
WITH outcomes AS (
    SELECT count(*) FILTER (WHERE action = 'de_enrolled') AS de_enrolled,
           count(*) FILTER (WHERE action = 'de_enrolled' AND outcome = 'completed') AS completed,
           count(*) FILTER (WHERE action = 'de_enrolled' AND outcome = 'opted_out') AS opted_out,
           count(*) FILTER (WHERE action = 'de_enrolled' AND outcome = 'booked') AS booked,
           count(*) FILTER (WHERE action = 'skipped') AS skipped
      FROM de_enrollment_lead_log
     WHERE run_id = CAST(:run_id AS uuid)
       AND action IN ('de_enrolled', 'skipped')
       AND lead_id = ANY(CAST(:ids AS uuid[]))
), counted AS (
    UPDATE de_enrollment_runs r
       SET leads_de_enrolled = r.leads_de_enrolled + o.de_enrolled + CAST(:revoked AS integer),
           leads_skipped = r.leads_skipped + o.skipped
      FROM outcomes o
     WHERE r.id = CAST(:run_id AS uuid)
)
SELECT de_enrolled, completed, opted_out, booked, skipped FROM outcomes
