-- Dry run: the client's drifting counters (campaign_counter_drift, sql/0023), read only.
SELECT d.campaign_id::text AS campaign_id, c.name AS campaign_name, d.counter, d.reported, d.actual
  FROM campaign_counter_drift(CAST(:client_id AS uuid)) AS d
  JOIN campaigns c ON c.id = d.campaign_id
 ORDER BY abs(d.actual - d.reported) DESC, c.name, d.counter
