-- The stuck leads per client (sql/objects/stuck_leads.sql), every client: the migration report shows inactive
-- ones too.
SELECT client_id::text, count(*)
  FROM stuck_leads
 GROUP BY client_id
