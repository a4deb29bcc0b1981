-- The rows 0045 brings up to what its triggers keep from then on, written after its functions and views exist and
-- before its triggers do (so that these writes fire none).

-- Leads due now, before any platform update marks them: the due queue starts out true.
INSERT INTO de_enrollment_due_queue (lead_id, client_id, campaign_id, enrolled_at, due_since)
SELECT l.id, l.client_id, l.campaign_link_id, l.enrolled_at, now()
  FROM leads l
  JOIN campaigns c ON c.id = l.campaign_link_id
 WHERE l.is_active AND l.completed_at IS NULL
   AND de_enrollment_lead_due(l.is_active, l.completed_at, l.opted_out, l.booked_meeting,
                              l.current_message_position, c.messages) IS TRUE;

UPDATE leads l
   SET campaign_sequence_length = campaign_sequence_length(c.messages)
  FROM campaigns c
 WHERE c.id = l.campaign_link_id;

INSERT INTO compliance_settings DEFAULT VALUES;

INSERT INTO lead_contacts (lead_id, client_id, phone_e164, email_lower)
SELECT l.id, l.client_id, phone_e164(l.phone, '1', '1'), lower(btrim(l.email))
  FROM leads l;
