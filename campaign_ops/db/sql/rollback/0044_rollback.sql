-- Rollback of 0044: the record of sends after revocation, its trigger and function; the due queue's triggers as
-- 0035 defined them, and the leads' campaign sequence length with what keeps it.
DROP TRIGGER IF EXISTS leads_record_send_after_revocation ON leads;
DROP FUNCTION IF EXISTS compliance_record_send_after_revocation();
DROP TABLE IF EXISTS compliance_sends_after_revocation;

-- the function as 0035 wrote it
CREATE OR REPLACE FUNCTION de_enrollment_mark_due() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_messages jsonb;
BEGIN
    SELECT c.messages INTO v_messages FROM campaigns c WHERE c.id = NEW.campaign_link_id;
    IF NOT FOUND OR de_enrollment_lead_due(NEW.is_active, NEW.completed_at, NEW.opted_out, NEW.booked_meeting,
                                           NEW.current_message_position, v_messages) IS NOT TRUE THEN
        RETURN NULL;
    END IF;
    INSERT INTO de_enrollment_due_queue AS q (lead_id, client_id, campaign_id, enrolled_at, due_since)
    VALUES (NEW.id, NEW.client_id, NEW.campaign_link_id, NEW.enrolled_at, clock_timestamp())
    ON CONFLICT (lead_id) DO UPDATE
       SET version = q.version + 1,
           client_id = EXCLUDED.client_id,
           -- the same enrollment keeps the moment it first became due; a new enrollment starts its own
           due_since = CASE WHEN (q.campaign_id, q.enrolled_at) IS NOT DISTINCT FROM
                                 (EXCLUDED.campaign_id, EXCLUDED.enrolled_at)
                            THEN q.due_since ELSE EXCLUDED.due_since END,
           campaign_id = EXCLUDED.campaign_id,
           enrolled_at = EXCLUDED.enrolled_at;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS leads_mark_due_on_insert ON leads;
DROP TRIGGER IF EXISTS leads_mark_due_on_update ON leads;
CREATE TRIGGER leads_mark_due_on_insert
    AFTER INSERT ON leads
    FOR EACH ROW
    WHEN (de_enrollment_lead_due(NEW.is_active, NEW.completed_at, NEW.opted_out, NEW.booked_meeting,
                                 NEW.current_message_position, NULL) IS NOT FALSE)
    EXECUTE FUNCTION de_enrollment_mark_due();
CREATE TRIGGER leads_mark_due_on_update
    AFTER UPDATE OF current_message_position, opted_out, booked_meeting, is_active, completed_at,
                    campaign_link_id, enrolled_at ON leads
    FOR EACH ROW
    WHEN ((NEW.current_message_position, NEW.opted_out, NEW.booked_meeting, NEW.is_active, NEW.completed_at,
           NEW.campaign_link_id, NEW.enrolled_at)
          IS DISTINCT FROM
          (OLD.current_message_position, OLD.opted_out, OLD.booked_meeting, OLD.is_active, OLD.completed_at,
           OLD.campaign_link_id, OLD.enrolled_at)
          AND de_enrollment_lead_due(NEW.is_active, NEW.completed_at, NEW.opted_out, NEW.booked_meeting,
                                     NEW.current_message_position, NULL) IS NOT FALSE)
    EXECUTE FUNCTION de_enrollment_mark_due();

DROP TRIGGER IF EXISTS campaigns_propagate_sequence_length ON campaigns;
DROP FUNCTION IF EXISTS campaigns_propagate_sequence_length();
DROP TRIGGER IF EXISTS leads_set_sequence_length_on_insert ON leads;
DROP TRIGGER IF EXISTS leads_set_sequence_length_on_update ON leads;
DROP FUNCTION IF EXISTS leads_set_sequence_length();
ALTER TABLE leads DROP COLUMN IF EXISTS campaign_sequence_length;
DROP FUNCTION IF EXISTS campaign_sequence_length(jsonb);
