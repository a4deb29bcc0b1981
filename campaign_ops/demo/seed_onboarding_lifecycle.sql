-- Seeds 003 and 004 in the demo: onboarding states (one client moving normally, one stuck in S2, one waiting in
-- S5_CONFIRM_LIVE without payment for 3 h, one in S9_TEST_CALL for 30 h: terminal), a small number pool, and a
-- three-round lifecycle campaign whose third round was sent a day early. The onboarding scenarios cycle over the
-- first ten clients only; the others finished onboarding a month ago: a demo at 1,000 clients shows the same
-- handful of stuck clients, not hundreds of alerts on its first check.
WITH numbered AS (
    SELECT md5(:seed || ':client:' || i)::uuid AS client_id, i
      FROM generate_series(1, :clients) AS i
)
INSERT INTO onboarding_states (client_id, current_state, state_entered_at, completed_at)
SELECT client_id,
       CASE scenario WHEN 1 THEN 'COMPLETE' WHEN 2 THEN 'S2_BUSINESS_DETAILS' WHEN 3 THEN 'S5_CONFIRM_LIVE'
                     WHEN 4 THEN 'S9_TEST_CALL' ELSE 'S4_CAMPAIGN_SETUP' END,
       CAST(:as_of AS timestamptz) - CASE scenario WHEN 1 THEN interval '30 days' WHEN 2 THEN interval '5 hours'
                                           WHEN 3 THEN interval '3 hours' WHEN 4 THEN interval '30 hours'
                                           ELSE interval '20 minutes' END,
       CASE WHEN scenario = 1 THEN CAST(:as_of AS timestamptz) - interval '30 days' END
  FROM (SELECT client_id, CASE WHEN i <= 10 THEN i % 5 ELSE 1 END AS scenario FROM numbered) s;

UPDATE clients SET payment_active = (md5(:seed || ':client:' || 3)::uuid <> id),
                   -- clients below 9000 keep their numbers; from 9000 on (where 4 digits would reach the pool's
                   -- +1555010900x or be cut short) they take the +1556 range: every client a number of its own
                   phone_number = CASE WHEN ordinal < 9000 THEN '+1555010' || lpad(ordinal::text, 4, '0')
                                       ELSE '+1556' || lpad(ordinal::text, 7, '0') END
  FROM (SELECT md5(:seed || ':client:' || i)::uuid AS cid, i AS ordinal FROM generate_series(1, :clients) AS i) n
 WHERE clients.id = n.cid;

INSERT INTO twilio_number_pool (phone_e164, status, client_id, assigned_at, monthly_cost_cents, paid_through)
SELECT '+1555010' || lpad((9000 + i)::text, 4, '0'),
       CASE WHEN i <= 2 THEN 'AVAILABLE' ELSE 'RESERVED' END, NULL, NULL, 115,
       CAST(:as_of AS date) + 30
  FROM generate_series(1, 3) AS i;

-- round 3 went out an hour ago (top of the hour), a day before its scheduled time: the implementation review's incident
WITH times AS (
    SELECT r AS round_number,
           (date_trunc('hour', CAST(:as_of AS timestamptz)) - interval '1 hour' + interval '1 day'
              - make_interval(days => 7 * (3 - r))) AT TIME ZONE 'UTC' AS scheduled_utc
      FROM generate_series(1, 3) AS r
), rounds AS (
    INSERT INTO lifecycle_campaign_schedules
           (campaign_name, round_number, scheduled_date, scheduled_time, status, mailjet_campaign_id,
            recipient_count, sent_at)
    SELECT 'Client Letter Automation (demo)', round_number, scheduled_utc::date, scheduled_utc::time,
           CASE WHEN round_number < 3 THEN 'COMPLETED' ELSE 'SENT' END, 'mj-demo-' || round_number,
           1250 - 50 * round_number,
           CASE WHEN round_number < 3 THEN (scheduled_utc AT TIME ZONE 'UTC') + interval '5 seconds'
                ELSE (scheduled_utc AT TIME ZONE 'UTC') - interval '1 day' END
      FROM times
    RETURNING id, round_number, sent_at
)
INSERT INTO lifecycle_notification_logs (campaign_schedule_id, stage, status, channel, scheduled_for, sent_at, created_at)
SELECT id, 'LAUNCH', 'SENT', '#_traction', sent_at, sent_at, sent_at - interval '1 day' FROM rounds
UNION ALL
-- and a launch countdown for round 3 was scheduled again after it had gone out
SELECT id, 'LAUNCH_COUNTDOWN', 'SCHEDULED', '#_traction', sent_at + interval '1 day' - interval '15 minutes', NULL,
       sent_at + interval '30 minutes'
  FROM rounds WHERE round_number = 3;

INSERT INTO lifecycle_campaign_metrics (campaign_schedule_id, processed, delivered, bounced, opened, clicked, collected_at)
SELECT id, recipient_count, recipient_count - 20 - round_number, 20 + round_number, recipient_count / 3,
       recipient_count / 20, sent_at + interval '1 day'
  FROM lifecycle_campaign_schedules
 WHERE campaign_name = 'Client Letter Automation (demo)' AND round_number < 3;
