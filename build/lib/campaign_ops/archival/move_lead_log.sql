-- Move a client's lead-log rows older than the cutoff into the archive, in one statement of the client's
-- transaction: lock them, copy them, then delete from the live table only the rows whose archived copy (as the
-- INSERT wrote it) is identical. The caller compares the three counts; any difference rolls everything back.
WITH candidates AS (
    SELECT id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received,
           error_message, processed_at, due_since
      FROM de_enrollment_lead_log
     WHERE client_id = CAST(:client_id AS uuid)
       AND processed_at < CAST(:lead_log_cutoff AS timestamptz)
       FOR UPDATE
), copied AS (
    INSERT INTO de_enrollment_lead_log_archive
           (id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received,
            error_message, processed_at, due_since, archived_at)
    SELECT id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received,
           error_message, processed_at, due_since, now()
      FROM candidates
    RETURNING id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received,
              error_message, processed_at, due_since
), deleted AS (
    DELETE FROM de_enrollment_lead_log l
     USING copied c
     WHERE l.id = c.id
       AND (l.run_id, l.lead_id, l.client_id, l.campaign_id, l.enrolled_at, l.action, l.outcome,
            l.messages_received, l.error_message, l.processed_at, l.due_since)
           IS NOT DISTINCT FROM
           (c.run_id, c.lead_id, c.client_id, c.campaign_id, c.enrolled_at, c.action, c.outcome,
            c.messages_received, c.error_message, c.processed_at, c.due_since)
    RETURNING l.id
)
SELECT (SELECT count(*) FROM candidates) AS matched,
       (SELECT count(*) FROM copied)     AS copied,
       (SELECT count(*) FROM deleted)    AS deleted
