"""Every SQL statement of the implementation review and the hardening report, verbatim. 'xxx' is their
placeholder for a client id."""

SEED_003_FACT_FINDING = {
    "schedules": """
SELECT
  id,
  campaign_name,
  round_number,
  scheduled_date,
  scheduled_time,
  status,
  mailjet_campaign_id,
  recipient_count,
  created_at,
  updated_at
FROM lifecycle_campaign_schedules
WHERE campaign_name LIKE '%Client Letter%'
ORDER BY round_number;
""",
    "notification logs": """
SELECT
  id,
  campaign_schedule_id,
  stage,
  status,
  sent_at
FROM lifecycle_notification_logs
WHERE campaign_schedule_id IN (
  SELECT id FROM lifecycle_campaign_schedules
  WHERE campaign_name LIKE '%Client Letter%'
)
ORDER BY sent_at DESC;
""",
    "metrics": """
SELECT
  campaign_schedule_id,
  processed,
  delivered,
  bounced,
  opened,
  clicked,
  collected_at
FROM lifecycle_campaign_metrics
WHERE campaign_schedule_id IN (
  SELECT id FROM lifecycle_campaign_schedules
  WHERE campaign_name LIKE '%Client Letter%'
)
ORDER BY collected_at DESC;
""",
    "priority 2": """
SELECT campaign_name, round_number, scheduled_date, status, mailjet_campaign_id
FROM lifecycle_campaign_schedules
WHERE campaign_name LIKE '%Client Letter%'
ORDER BY round_number;
""",
}

SEED_004_READ_ONLY = {
    "weekly audit": """
SELECT
  alert_type,
  COUNT(*) as total,
  COUNT(DISTINCT resource_id) as unique_clients
FROM alert_logs
WHERE delivered_at > NOW() - INTERVAL '7 days'
GROUP BY alert_type
ORDER BY total DESC;
""",
    "recent alerts": "SELECT * FROM alert_logs ORDER BY delivered_at DESC LIMIT 10;",
}

SEED_004_WRITING = {
    "resolve stuck S9": """
UPDATE onboarding_states
SET current_state = 'COMPLETE', completed_at = NOW()
WHERE client_id = 'xxx';
""",
    "activate payment": "UPDATE clients SET payment_active = true WHERE id = 'xxx';",
    "add pool number": """
INSERT INTO twilio_number_pool (phone_e164, status)
VALUES ('+447700900999', 'AVAILABLE');
""",
    "rollback plan": """
DROP TABLE alert_logs;
ALTER TABLE onboarding_states DROP COLUMN stuck_detected_at;
""",
}
