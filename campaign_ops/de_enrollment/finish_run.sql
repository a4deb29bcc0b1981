UPDATE de_enrollment_runs
   SET status = :status,
       leads_evaluated = :leads_evaluated,
       leads_de_enrolled = :leads_de_enrolled,
       leads_skipped = :leads_skipped,
       duration_ms = :duration_ms,
       error_details = :error_details,
       finished_at = now()
 WHERE id = CAST(:run_id AS uuid)
