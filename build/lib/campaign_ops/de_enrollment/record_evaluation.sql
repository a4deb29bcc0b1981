-- What the pass examined, written with the evaluation (before any chunk).
UPDATE de_enrollment_runs
   SET leads_evaluated = :leads_evaluated,
       leads_skipped = leads_skipped + :leads_skipped
 WHERE id = CAST(:run_id AS uuid)
