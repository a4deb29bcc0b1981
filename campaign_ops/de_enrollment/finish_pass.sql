-- Close a pass. The counts are not written here: each chunk added its own in its transaction (de_enroll_chunk.sql,
-- sop_batch_outcomes.sql), so the row says what committed even when this statement never runs. Returns them for
-- the report.
UPDATE de_enrollment_runs
   SET status = :status,
       duration_ms = :duration_ms,
       error_details = :error_details,
       finished_at = now()
 WHERE id = CAST(:run_id AS uuid)
RETURNING id::text, leads_evaluated, leads_de_enrolled, leads_skipped
