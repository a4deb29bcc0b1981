-- Due -> de-enrolled, in seconds, of the de-enrollments recorded since :since (those of one Dagster run when
-- :dagster_run_id is given): per client, and over all of them in the row whose client_id is NULL. Only leads whose
-- due moment is known (due_since, copied from the queue when settled). A pass whose transaction began just before
-- the platform's commit records a processed_at a little earlier than due_since: counted as 0 s.
WITH latency AS (
    SELECT ll.client_id,
           greatest(extract(epoch FROM ll.processed_at - ll.due_since), 0)::float8 AS seconds
      FROM de_enrollment_lead_log ll
     WHERE ll.processed_at >= CAST(:since AS timestamptz)
       AND ll.action = 'de_enrolled'
       AND ll.due_since IS NOT NULL
       AND (CAST(:dagster_run_id AS text) IS NULL
            OR ll.run_id IN (SELECT r.id FROM de_enrollment_runs r
                              WHERE r.dagster_run_id = CAST(:dagster_run_id AS text)))
)
SELECT client_id::text AS client_id,
       count(*) AS leads,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)  AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY seconds) AS p99,
       max(seconds) AS max
  FROM latency
 GROUP BY GROUPING SETS ((client_id), ())
