-- Alerts whose incident is not resolved, most severe and oldest first, with the acknowledgement holding now and
-- what the paging channels did about the incident.
SELECT a.id, a.alert_type, a.alert_key, a.severity, a.resource_id, a.title, a.active_since, a.last_seen_at,
       a.last_sent_at, a.delivery_status, a.send_count, a.pending_kind, a.next_attempt_at, a.last_error,
       k.acked_by, k.until AS acked_until,
       (SELECT string_agg(s.channel || CASE WHEN s.pending_kind IS NOT NULL
                                            THEN ' failing (' || s.attempt_count || 'x): ' || coalesce(s.last_error, '?')
                                            ELSE ' paged' END, '; ' ORDER BY s.channel)
          FROM alert_channel_states s
         WHERE s.alert_log_id = a.id AND (s.pending_kind IS NOT NULL OR s.last_sent_at >= a.active_since)) AS paging
  FROM alert_logs a
  LEFT JOIN LATERAL (
      SELECT acked_by, until FROM alert_acks
       WHERE alert_log_id = a.id AND acked_at >= a.active_since AND until > :now
       ORDER BY acked_at DESC, id DESC
       LIMIT 1) k ON true
 WHERE a.resolved_at IS NULL AND a.active_since IS NOT NULL
 ORDER BY array_position(ARRAY['CRITICAL', 'HIGH', 'ERROR', 'MEDIUM', 'WARN', 'LOW', 'INFO'], a.severity),
          a.active_since, a.alert_key
 LIMIT :limit
