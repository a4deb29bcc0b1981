-- A chunk's figures, written in the chunk's own transaction: the run row counts exactly what committed, whatever
-- happens to the worker afterwards (the SOP's SUM(leads_de_enrolled) stays right).
UPDATE de_enrollment_runs
   SET leads_de_enrolled = leads_de_enrolled + :de_enrolled,
       leads_skipped = leads_skipped + :skipped
 WHERE id = CAST(:run_id AS uuid)
