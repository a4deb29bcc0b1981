-- Every round of one campaign with its latest metrics (the implementation review's fact-finding, in one place).
SELECT s.id::text AS id, s.round_number, s.scheduled_date, s.scheduled_time, s.status, s.mailjet_campaign_id,
       s.recipient_count, s.sent_at, m.processed, m.delivered, m.bounced, m.opened, m.clicked, m.collected_at
  FROM lifecycle_campaign_schedules s
  LEFT JOIN LATERAL (SELECT * FROM lifecycle_campaign_metrics lm
                      WHERE lm.campaign_schedule_id = s.id ORDER BY lm.collected_at DESC LIMIT 1) m ON true
 WHERE s.campaign_name = :campaign_name
 ORDER BY s.round_number
