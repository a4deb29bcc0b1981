-- Lock the client's campaigns in a fixed order (by id) for the correcting transaction: any other writer of their
-- counters (refresh_campaign_counters, the SOP's batch functions, a person in psql) waits, and none can deadlock
-- with us because we take no other row locks. Returns how many campaigns the client has.
SELECT count(*) AS campaigns
  FROM (SELECT id FROM campaigns WHERE client_id = CAST(:client_id AS uuid) ORDER BY id FOR UPDATE) AS locked
