-- The clients among :client_ids whose newest de-enrollment passes failed or were skipped, with until when the due
-- sensor leaves them out: :first_minutes after the newest such pass when one pass in a row did not get through,
-- doubled per further one, at most :max_minutes (the 15-minute schedule still covers them). 'skipped' counts: it
-- means another session held the client's lock, and relaunching every few seconds cannot take it sooner. A
-- 'running' pass is passed over. A 'success' or 'partial' pass (progress, or out of budget) ends the streak. Only
-- the newest :max_streak passes are read per client (the delay stops growing there), newest first from
-- de_enrollment_runs_client_run_at_idx.
SELECT b.client_id, b.failures, b.skipped, b.until
  FROM (SELECT d.client_id::text AS client_id,
               s.failures,
               s.skipped,
               s.last_failed_at + make_interval(
                   secs => least(CAST(:first_minutes AS float8) * 60 * power(2, s.failures - 1),
                                 CAST(:max_minutes AS float8) * 60)) AS until
          FROM unnest(CAST(:client_ids AS uuid[])) AS d(client_id)
         CROSS JOIN LATERAL (
            SELECT count(*) AS failures, count(*) FILTER (WHERE w.status = 'skipped') AS skipped,
                   max(coalesce(w.finished_at, w.run_at)) AS last_failed_at
              FROM (SELECT n.status, n.finished_at, n.run_at,
                           -- true while every pass from the newest one to this one failed or was skipped
                           bool_and(n.status IN ('failed', 'skipped')) OVER (ORDER BY n.run_at DESC) AS streak
                      FROM (SELECT r.status, r.finished_at, r.run_at
                              FROM de_enrollment_runs r
                             WHERE r.client_id = d.client_id
                               AND r.status IN ('success', 'partial', 'failed', 'skipped')
                             ORDER BY r.run_at DESC
                             LIMIT CAST(:max_streak AS integer)) n) w
             WHERE w.streak
         ) s
         WHERE s.failures > 0) b
 WHERE b.until > coalesce(CAST(:now AS timestamptz), now())
 ORDER BY b.until, b.client_id
