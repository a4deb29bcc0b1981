-- SOP "Verify data integrity" (6.2) / "Morning Health Check" 3, per client: active, not completed leads whose
-- position reached their campaign's sequence length. Scope: the given clients, or every active client when none
-- are given (leads of inactive clients are left alone by design). A campaign whose messages is not a JSON array
-- has no length and is never counted (jsonb_array_length would raise).
-- Reads the partial index leads_de_enrollment_candidates_idx (is_active AND completed_at IS NULL).
SELECT l.client_id::text AS client_id, count(*) AS stuck
  FROM leads l
  JOIN campaigns c ON c.id = l.campaign_link_id
 WHERE l.is_active
   AND l.completed_at IS NULL
   AND l.client_id IN (SELECT id FROM clients
                        WHERE (CAST(:client_ids AS uuid[]) IS NULL AND is_active)
                           OR id = ANY(CAST(:client_ids AS uuid[])))
   AND l.current_message_position >= CASE WHEN jsonb_typeof(c.messages) = 'array'
                                          THEN jsonb_array_length(c.messages) END
 GROUP BY l.client_id
