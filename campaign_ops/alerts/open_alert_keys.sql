-- The keys of the open alerts (an incident not yet resolved) of the given types.
SELECT alert_type, alert_key
  FROM alert_logs
 WHERE alert_type = ANY (CAST(:alert_types AS text[]))
   AND resolved_at IS NULL AND active_since IS NOT NULL
