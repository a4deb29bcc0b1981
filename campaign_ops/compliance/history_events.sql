-- Everything recorded about these leads (the caller orders it): the lead log live and archived (with each run's time and
-- Dagster run), the messages sent after revocation, and a revocation seen but not yet honored (the due queue).
SELECT x.lead_id::text AS lead_id, 'lead_log' AS source, x.id AS event_id, x.action AS what, x.outcome,
       x.processed_at AS at, x.due_since AS seen_at, x.run_id::text AS run_id, r.dagster_run_id, x.campaign_id::text
       AS campaign_id, x.enrolled_at, x.messages_received AS position, x.error_message AS note,
       x.archived_at IS NOT NULL AS archived
  FROM (SELECT id, run_id, lead_id, campaign_id, enrolled_at, action, outcome, messages_received, error_message,
               processed_at, due_since, NULL::timestamptz AS archived_at
          FROM de_enrollment_lead_log WHERE lead_id = ANY(CAST(:lead_ids AS uuid[]))
        UNION ALL
        SELECT id, run_id, lead_id, campaign_id, enrolled_at, action, outcome, messages_received, error_message,
               processed_at, due_since, archived_at
          FROM de_enrollment_lead_log_archive WHERE lead_id = ANY(CAST(:lead_ids AS uuid[]))) x
  LEFT JOIN LATERAL (SELECT r.dagster_run_id FROM de_enrollment_runs r WHERE r.id = x.run_id
                     UNION ALL
                     SELECT r.dagster_run_id FROM de_enrollment_runs_archive r WHERE r.id = x.run_id
                     LIMIT 1) r ON true
UNION ALL
SELECT s.lead_id::text, 'send_after_revocation', s.id, 'sent_after_' || s.revoked_as, NULL, s.sent_at, s.revoked_at,
       s.de_enrolled_by_run::text, NULL, s.campaign_id::text, s.enrolled_at, s.new_position,
       format('position %s -> %s', s.old_position, s.new_position), false
  FROM compliance_sends_after_revocation s
 WHERE s.lead_id = ANY(CAST(:lead_ids AS uuid[]))
UNION ALL
SELECT q.lead_id::text, 'due_queue', NULL, 'due_not_yet_honored', NULL, NULL, q.due_since, NULL, NULL,
       q.campaign_id::text, q.enrolled_at, NULL, NULL, false
  FROM de_enrollment_due_queue q
 WHERE q.lead_id = ANY(CAST(:lead_ids AS uuid[]))
