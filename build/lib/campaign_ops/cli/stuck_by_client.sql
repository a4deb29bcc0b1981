-- The stuck leads per client (the view stuck_leads, sql/0036), every client: the migration report shows inactive
-- ones too.
SELECT client_id::text, count(*)
  FROM stuck_leads
 GROUP BY client_id
