SELECT n.campaign_schedule_id::text AS schedule_id, n.stage, n.status, n.channel, n.scheduled_for, n.sent_at,
       n.created_at
  FROM lifecycle_notification_logs n
  JOIN lifecycle_campaign_schedules s ON s.id = n.campaign_schedule_id
 WHERE s.campaign_name = :campaign_name
 ORDER BY s.round_number, n.created_at
