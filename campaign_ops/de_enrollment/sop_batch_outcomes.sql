-- The outcome split of one SOP batch (process_de_enrollment_batch returns only the total).
SELECT count(*),
       count(*) FILTER (WHERE outcome = 'completed'),
       count(*) FILTER (WHERE outcome = 'opted_out'),
       count(*) FILTER (WHERE outcome = 'booked')
  FROM de_enrollment_lead_log
 WHERE run_id = CAST(:run_id AS uuid)
   AND action = 'de_enrolled'
   AND lead_id = ANY(CAST(:ids AS uuid[]))
