-- SOP "Morning Health Check" 3: the stuck leads of all clients, as the SOP counts them (the rule: the view
-- sql/objects/stuck_leads.sql, which also leaves out campaigns whose messages is not a JSON array instead of failing).
SELECT count(*) AS stuck_count
  FROM stuck_leads
