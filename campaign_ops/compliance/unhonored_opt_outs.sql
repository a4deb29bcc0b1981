-- Opt-outs not honored yet, per client: opted-out leads still active in an active client (or a client asked for),
-- how many, and the oldest by the moment the due queue first saw it (sql/objects/de_enrollment_mark_due.sql:
-- the trigger marks a lead as it
-- becomes due). Reads the queue and its leads by key, never the whole leads table.
SELECT l.client_id::text AS client_id, count(*)::int AS waiting,
       (array_agg(l.id::text ORDER BY q.due_since, l.id))[1] AS oldest_lead_id,
       min(q.due_since) AS oldest_seen_at,
       extract(epoch FROM now() - min(q.due_since))::float8 AS oldest_waiting_s
  FROM de_enrollment_due_queue q
  JOIN leads l ON l.id = q.lead_id
  JOIN clients cl ON cl.id = l.client_id
 WHERE l.opted_out AND l.is_active AND l.completed_at IS NULL
   AND ((CAST(:client_ids AS uuid[]) IS NULL AND cl.is_active) OR l.client_id = ANY(CAST(:client_ids AS uuid[])))
 GROUP BY l.client_id
 ORDER BY min(q.due_since), l.client_id
