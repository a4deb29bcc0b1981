-- Open alerts at ERROR or above that nobody acknowledged within the acknowledgement window and that a paging
-- channel has not been told about in this incident (an alert raised once, by an event, is not observed again:
-- its page comes from here). Test alerts page only when sent as critical. Rows another tick holds are skipped.
SELECT a.id, a.alert_type, a.alert_key, a.severity, a.active_since, a.last_payload,
       ARRAY(SELECT c.channel FROM unnest(CAST(:channels AS text[])) AS c (channel)
              WHERE NOT EXISTS (SELECT FROM alert_channel_states s
                                 WHERE s.alert_log_id = a.id AND s.channel = c.channel
                                   AND (s.last_sent_at >= a.active_since OR s.pending_kind IS NOT NULL))) AS untold
  FROM alert_logs a
 WHERE a.resolved_at IS NULL AND a.active_since IS NOT NULL
   AND a.active_since <= CAST(:now AS timestamptz) - make_interval(secs => :ack_seconds)
   AND a.severity IN ('ERROR', 'HIGH', 'CRITICAL')
   AND a.alert_type <> 'TEST'
   AND NOT (a.id = ANY (CAST(:skip_ids AS bigint[])))
   AND NOT EXISTS (SELECT FROM alert_acks k
                    WHERE k.alert_log_id = a.id AND k.acked_at >= a.active_since AND k.until > :now)
   AND EXISTS (SELECT FROM unnest(CAST(:channels AS text[])) AS c (channel)
                WHERE NOT EXISTS (SELECT FROM alert_channel_states s
                                   WHERE s.alert_log_id = a.id AND s.channel = c.channel
                                     AND (s.last_sent_at >= a.active_since OR s.pending_kind IS NOT NULL)))
 ORDER BY a.active_since, a.id
 LIMIT :limit
   FOR UPDATE OF a SKIP LOCKED
