-- One statement over all the given clients: what each pass would examine and how many leads are due now
-- (de_enrollment_pass_counts): clients with nothing due get their pass recorded set-based, only the others are
-- worked on.
SELECT client_id::text, evaluated, skipped, invalid_campaigns, due
  FROM de_enrollment_pass_counts(CAST(:client_ids AS uuid[]))
