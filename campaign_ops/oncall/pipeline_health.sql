-- What the heartbeat checks: each alert sensor's last tick, and the messages stuck in retry on any channel (many
-- failed attempts, or overdue: no tick has retried them).
SELECT 'tick' AS kind, sensor_name AS name, last_tick_at AS at, NULL::bigint AS n
  FROM alert_sensor_ticks
UNION ALL
SELECT 'stuck', channel, min(next_attempt_at), count(*)
  FROM (SELECT 'main' AS channel, next_attempt_at, attempt_count FROM alert_logs WHERE pending_kind IS NOT NULL
        UNION ALL
        SELECT channel, next_attempt_at, attempt_count FROM alert_channel_states WHERE pending_kind IS NOT NULL) p
 WHERE attempt_count >= :max_attempts OR next_attempt_at < CAST(:now AS timestamptz) - make_interval(mins => :overdue_minutes)
 GROUP BY channel
