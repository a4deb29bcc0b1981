-- The SOP's runbook path: a locked batch after the last processed id.
SELECT lead_id::text
  FROM get_leads_for_de_enrollment(CAST(:client_id AS uuid), :batch_size, CAST(:last_id AS uuid))
