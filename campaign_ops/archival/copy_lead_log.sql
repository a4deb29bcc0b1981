-- Step 1 of a client's archival: lock the lead-log rows older than the cutoff and copy them into the archive.
-- Returns how many rows matched and how many were copied (they must be equal).
WITH candidates AS (
    SELECT id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received,
           error_message, processed_at
      FROM de_enrollment_lead_log
     WHERE client_id = CAST(:client_id AS uuid)
       AND processed_at < CAST(:lead_log_cutoff AS timestamptz)
       FOR UPDATE
), copied AS (
    INSERT INTO de_enrollment_lead_log_archive
           (id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received,
            error_message, processed_at, archived_at)
    SELECT id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received,
           error_message, processed_at, now()
      FROM candidates
    RETURNING id
)
SELECT (SELECT count(*) FROM candidates) AS matched, (SELECT count(*) FROM copied) AS copied
