-- Seed 003's question, answered in one query: rounds sent before their scheduled date and time, before the
-- previous round of the same campaign, more than once, or whose launch notifications were (re)scheduled after
-- the round was sent. Scheduled times are UTC. A NULL campaign name means every campaign.
WITH rounds AS (
    SELECT s.*,
           (s.scheduled_date + s.scheduled_time) AT TIME ZONE 'UTC' AS scheduled_at,
           lag(s.sent_at) OVER w AS previous_sent_at,
           lag(s.round_number) OVER w AS previous_round
      FROM lifecycle_campaign_schedules s
     WHERE CAST(:campaign_name AS text) IS NULL OR s.campaign_name = CAST(:campaign_name AS text)
    WINDOW w AS (PARTITION BY s.campaign_name ORDER BY s.round_number)
), launches AS (
    SELECT campaign_schedule_id, count(*) AS sent_launches, min(sent_at) AS first_launch, max(sent_at) AS last_launch
      FROM lifecycle_notification_logs
     WHERE stage = 'LAUNCH' AND status = 'SENT'
     GROUP BY campaign_schedule_id
), late_schedules AS (
    SELECT n.campaign_schedule_id, count(*) AS rescheduled, max(n.created_at) AS last_rescheduled_at
      FROM lifecycle_notification_logs n
      JOIN rounds r ON r.id = n.campaign_schedule_id
     WHERE r.sent_at IS NOT NULL
       AND n.stage IN ('PREPARATION', 'PRE_LAUNCH_CHECK', 'LAUNCH_COUNTDOWN', 'LAUNCH')
       AND n.status = 'SCHEDULED'
       AND n.created_at > r.sent_at
     GROUP BY n.campaign_schedule_id
)
SELECT r.campaign_name, r.round_number, 'sent_early' AS kind, r.scheduled_at, r.sent_at,
       'sent ' || to_char(r.scheduled_at - r.sent_at, 'FMDD"d "FMHH24"h "FMMI"m"') || ' before its scheduled time' AS detail
  FROM rounds r
 WHERE r.sent_at IS NOT NULL AND r.sent_at < r.scheduled_at
UNION ALL
SELECT r.campaign_name, r.round_number, 'sent_before_previous_round', r.scheduled_at, r.sent_at,
       CASE WHEN r.previous_sent_at IS NULL THEN 'round ' || r.previous_round || ' was never sent'
            ELSE 'round ' || r.previous_round || ' was sent later, at ' || r.previous_sent_at END
  FROM rounds r
 WHERE r.sent_at IS NOT NULL AND r.previous_round IS NOT NULL
   AND (r.previous_sent_at IS NULL OR r.previous_sent_at > r.sent_at)
UNION ALL
SELECT r.campaign_name, r.round_number, 'sent_twice', r.scheduled_at, r.sent_at,
       l.sent_launches || ' launch notifications sent, first ' || l.first_launch || ', last ' || l.last_launch
  FROM rounds r JOIN launches l ON l.campaign_schedule_id = r.id
 WHERE l.sent_launches > 1
UNION ALL
SELECT r.campaign_name, r.round_number, 'rescheduled_after_send', r.scheduled_at, r.sent_at,
       ls.rescheduled || ' launch notification(s) scheduled after the round was sent, last at ' || ls.last_rescheduled_at
  FROM rounds r JOIN late_schedules ls ON ls.campaign_schedule_id = r.id
 ORDER BY 1, 2, 3
