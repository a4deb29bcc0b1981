-- Fair order: the client whose last real progress is oldest goes first. Real progress is a pass that de-enrolled
-- something or finished (success: nothing left due); a client never progressed (or not reached, failed, interrupted
-- before any commit) keeps its old time and so goes before those that just progressed. Ties: client id.
SELECT c.id::text
  FROM unnest(CAST(:client_ids AS uuid[])) AS c(id)
  LEFT JOIN LATERAL (SELECT r.run_at FROM de_enrollment_runs r
                      WHERE r.client_id = c.id AND (r.status = 'success' OR r.leads_de_enrolled > 0)
                      ORDER BY r.run_at DESC LIMIT 1) AS progress ON true
 ORDER BY progress.run_at NULLS FIRST, c.id
