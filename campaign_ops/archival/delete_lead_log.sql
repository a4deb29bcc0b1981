-- Step 2: delete from the live table only the rows whose archive copy (made by this transaction) is identical.
WITH deleted AS (
    DELETE FROM de_enrollment_lead_log l
     USING de_enrollment_lead_log_archive a
     WHERE a.id = l.id
       AND a.archived_at = now()
       AND l.client_id = CAST(:client_id AS uuid)
       AND l.processed_at < CAST(:lead_log_cutoff AS timestamptz)
       AND (a.run_id, a.lead_id, a.client_id, a.campaign_id, a.enrolled_at, a.action, a.outcome,
            a.messages_received, a.error_message, a.processed_at)
           IS NOT DISTINCT FROM
           (l.run_id, l.lead_id, l.client_id, l.campaign_id, l.enrolled_at, l.action, l.outcome,
            l.messages_received, l.error_message, l.processed_at)
    RETURNING 1
)
SELECT count(*) AS deleted FROM deleted
