-- Messages sent after revocation (recorded by sql/objects/compliance_record_send_after_revocation.sql)
-- within the window, every client's unless a
-- scope is given: a message after an opt-out is a violation whoever the client is.
SELECT s.id, s.lead_id::text AS lead_id, s.client_id::text AS client_id, s.campaign_id::text AS campaign_id,
       s.old_position, s.new_position, s.sent_at, s.revoked_as, s.revoked_at,
       extract(epoch FROM s.sent_at - s.revoked_at)::float8 AS seconds_after
  FROM compliance_sends_after_revocation s
 WHERE s.sent_at > now() - make_interval(hours => :window_hours)
   AND (CAST(:client_ids AS uuid[]) IS NULL OR s.client_id = ANY(CAST(:client_ids AS uuid[])))
 ORDER BY s.client_id, s.sent_at, s.id
