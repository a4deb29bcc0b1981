-- Up to chunk_size due leads of one client, de-enrolled in one set-based statement (see de_enroll_client_leads in
-- sql/0021). A NULL chunk size means all of them.
SELECT de_enrolled, completed, opted_out, booked
  FROM de_enroll_client_leads(CAST(:run_id AS uuid), CAST(:client_id AS uuid), NULL, :chunk_size)
