-- Clients whose last pass ended 'partial' (budget ran out) go first; then the rest in id order.
SELECT c.id::text
  FROM unnest(CAST(:client_ids AS uuid[])) AS c(id)
  LEFT JOIN LATERAL (SELECT r.status FROM de_enrollment_runs r
                      WHERE r.client_id = c.id ORDER BY r.run_at DESC LIMIT 1) AS last_run ON true
 ORDER BY (last_run.status = 'partial') DESC NULLS LAST, c.id
