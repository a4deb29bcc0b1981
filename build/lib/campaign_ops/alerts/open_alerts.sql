-- Alerts whose incident is not resolved, most severe and oldest first.
SELECT alert_type, alert_key, severity, resource_id, title, active_since, last_seen_at, last_sent_at,
       delivery_status, send_count, pending_kind, next_attempt_at, last_error
  FROM alert_logs
 WHERE resolved_at IS NULL AND active_since IS NOT NULL
 ORDER BY array_position(ARRAY['CRITICAL', 'HIGH', 'ERROR', 'MEDIUM', 'WARN', 'LOW', 'INFO'], severity),
          active_since, alert_key
 LIMIT :limit
