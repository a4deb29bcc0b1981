-- The audit trail: one row per alert in the message (an aggregated message has several, one message_id).
INSERT INTO alert_deliveries (alert_log_id, message_id, kind, severity, channel, status, http_status, error,
                              silence_id, attempted_at)
SELECT ids.id, CAST(:message_id AS uuid), :kind, :severity, :channel, :status, :http_status, :error,
       :silence_id, :now
  FROM unnest(CAST(:ids AS bigint[])) AS ids (id)
