-- The one-client form of de_enroll_leads (de_enroll_leads.sql), with the signature the SOP's
-- process_de_enrollment_batch and runbooks call: the rules stay in one place.
CREATE OR REPLACE FUNCTION de_enroll_client_leads(
    p_run_id uuid, p_client_id uuid, p_lead_ids uuid[] DEFAULT NULL, p_limit integer DEFAULT NULL)
RETURNS TABLE (de_enrolled integer, completed integer, opted_out integer, booked integer)
LANGUAGE sql AS $$
    SELECT coalesce(sum(d.de_enrolled), 0)::int, coalesce(sum(d.completed), 0)::int,
           coalesce(sum(d.opted_out), 0)::int, coalesce(sum(d.booked), 0)::int
      FROM de_enroll_leads(ARRAY[p_client_id], ARRAY[p_run_id], p_lead_ids, p_limit) d
$$;
