SELECT process_de_enrollment_batch(CAST(:run_id AS uuid), CAST(:lead_ids AS uuid[]))
