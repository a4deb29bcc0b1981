-- The campaigns whose leads this transaction de-enrolled: its lead-log rows of these run rows (processed_at
-- defaults to now(), the transaction's start, so earlier chunks of the same pass are not read again).
SELECT DISTINCT g.campaign_id::text
  FROM de_enrollment_lead_log g
 WHERE g.run_id = ANY (CAST(:run_ids AS uuid[]))
   AND g.processed_at = now()
   AND g.action = 'de_enrolled'
   AND g.campaign_id IS NOT NULL
