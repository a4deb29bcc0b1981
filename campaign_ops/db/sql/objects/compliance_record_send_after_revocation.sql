-- A message sent after revocation is recorded as it happens. The platform sends a message and advances
-- current_message_position; an advance on a lead that had opted out or was no longer active (de-enrolled,
-- completed) is a message after revocation, written down in the same transaction with when the revocation was
-- seen. The WHEN clause decides on the state before the UPDATE alone (no function call, no look-up): the platform's
-- ordinary UPDATEs, which advance active leads, pay only for evaluating it.
CREATE OR REPLACE FUNCTION compliance_record_send_after_revocation() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_due_since timestamptz;
    v_log_due_since timestamptz;
    v_processed_at timestamptz;
    v_run_id uuid;
BEGIN
    IF OLD.opted_out THEN
        -- the opt-out as the due queue first saw it (still there while its de-enrollment is not settled)
        SELECT q.due_since INTO v_due_since FROM de_enrollment_due_queue q WHERE q.lead_id = NEW.id;
    END IF;
    -- this lead's newest de-enrollment, live or archived (ids are global: archived rows keep theirs)
    SELECT x.due_since, x.processed_at, x.run_id INTO v_log_due_since, v_processed_at, v_run_id
      FROM (SELECT id, due_since, processed_at, run_id FROM de_enrollment_lead_log
             WHERE lead_id = NEW.id AND action = 'de_enrolled'
            UNION ALL
            SELECT id, due_since, processed_at, run_id FROM de_enrollment_lead_log_archive
             WHERE lead_id = NEW.id AND action = 'de_enrolled') x
     ORDER BY x.id DESC
     LIMIT 1;
    INSERT INTO compliance_sends_after_revocation
           (lead_id, client_id, campaign_id, enrolled_at, old_position, new_position, sent_at, revoked_as,
            revoked_at, de_enrolled_by_run)
    VALUES (NEW.id, NEW.client_id, NEW.campaign_link_id, NEW.enrolled_at, OLD.current_message_position,
            NEW.current_message_position, clock_timestamp(),
            CASE WHEN OLD.opted_out THEN 'opted_out' ELSE 'inactive' END,
            CASE WHEN OLD.opted_out THEN coalesce(v_due_since, v_log_due_since, v_processed_at) ELSE v_processed_at END,
            v_run_id);
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER leads_record_send_after_revocation
    AFTER UPDATE OF current_message_position ON leads
    FOR EACH ROW
    WHEN (NEW.current_message_position > OLD.current_message_position AND (OLD.opted_out OR NOT OLD.is_active))
    EXECUTE FUNCTION compliance_record_send_after_revocation();
