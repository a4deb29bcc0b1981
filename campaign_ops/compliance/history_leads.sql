-- The leads of one person: by lead id (that lead and every lead of the same client with its phone or email), by
-- E.164 phone, or by lower-case email (lead_contacts, sql/0045_baseline.sql, indexed); optionally only some clients.
WITH asked AS (
    SELECT k.lead_id, k.client_id, k.phone_e164, k.email_lower
      FROM lead_contacts k
     WHERE k.lead_id = CAST(:lead_id AS uuid)
), people AS (
    SELECT l.id AS lead_id, 'asked' AS matched FROM leads l WHERE l.id = CAST(:lead_id AS uuid)
    UNION ALL
    SELECT k.lead_id, 'same phone' FROM asked a
      JOIN lead_contacts k ON k.phone_e164 = a.phone_e164 AND k.client_id = a.client_id
     WHERE k.lead_id <> a.lead_id
    UNION ALL
    SELECT k.lead_id, 'same email' FROM asked a
      JOIN lead_contacts k ON k.email_lower = a.email_lower AND k.client_id = a.client_id
     WHERE k.lead_id <> a.lead_id
    UNION ALL
    SELECT k.lead_id, 'phone' FROM lead_contacts k WHERE k.phone_e164 = CAST(:phone AS text)
    UNION ALL
    SELECT k.lead_id, 'email' FROM lead_contacts k WHERE k.email_lower = CAST(:email AS text)
), matched AS (
    SELECT p.lead_id, string_agg(DISTINCT p.matched, ', ') AS matched FROM people p GROUP BY p.lead_id
)
SELECT l.id::text AS lead_id, m.matched, l.client_id::text AS client_id, cl.company_name AS client_name,
       l.campaign_link_id::text AS campaign_id, c.name AS campaign_name, l.phone, l.email,
       l.current_message_position AS position, c.campaign_sequence_length AS sequence_length, l.is_active,
       l.opted_out, l.booked_meeting, l.enrolled_at, l.completed_at, l.updated_at
  FROM matched m
  JOIN leads l ON l.id = m.lead_id
  JOIN clients cl ON cl.id = l.client_id
  LEFT JOIN LATERAL (SELECT c.name, campaign_sequence_length(c.messages) AS campaign_sequence_length
                       FROM campaigns c WHERE c.id = l.campaign_link_id) c ON true
 WHERE CAST(:client_ids AS uuid[]) IS NULL OR l.client_id = ANY(CAST(:client_ids AS uuid[]))
 ORDER BY m.matched <> 'asked', l.client_id, l.enrolled_at NULLS FIRST, l.id
