-- Set each drifting counter to the actual value just logged by this reconciliation (and only those counters):
-- what is corrected is exactly what the log says. Returns one row per corrected campaign.
UPDATE campaigns c
   SET active_leads_count    = COALESCE(f.active, c.active_leads_count),
       completed_leads_count = COALESCE(f.completed, c.completed_leads_count),
       opted_out_count       = COALESCE(f.opted_out, c.opted_out_count),
       booked_count          = COALESCE(f.booked, c.booked_count),
       updated_at            = now()
  FROM (SELECT campaign_id,
               max(actual) FILTER (WHERE counter = 'active_leads_count')    AS active,
               max(actual) FILTER (WHERE counter = 'completed_leads_count') AS completed,
               max(actual) FILTER (WHERE counter = 'opted_out_count')       AS opted_out,
               max(actual) FILTER (WHERE counter = 'booked_count')          AS booked
          FROM stats_reconciliation_log
         WHERE reconciliation_id = CAST(:reconciliation_id AS uuid)
         GROUP BY campaign_id) AS f
 WHERE c.id = f.campaign_id
   AND c.client_id = CAST(:client_id AS uuid)
RETURNING c.id
