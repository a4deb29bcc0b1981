-- Marks, in de_enrollment_due_queue, a lead that is due after this INSERT/UPDATE, so "which clients have due work
-- now" costs work that grows with the leads that changed, not with all leads. The WHEN clauses decide on the row
-- alone and let through only leads that may be due (opted out, booked, at or past the end of the sequence the lead
-- carries, or of unknown length): PostgreSQL reads and compiles a WHEN clause again for every statement that
-- updates a row, which for the platform's single-row UPDATEs is the whole cost of a trigger that does not fire. The
-- function decides with the campaign's messages; an UPDATE that changes none of the columns the rule reads (an ORM
-- saving every column) marks nothing. The update's column list includes the sequence length: a campaign shortened
-- under its leads marks the ones it made due.
CREATE OR REPLACE FUNCTION de_enrollment_mark_due() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_messages jsonb;
BEGIN
    IF TG_OP = 'UPDATE'
       AND (NEW.current_message_position, NEW.opted_out, NEW.booked_meeting, NEW.is_active, NEW.completed_at,
            NEW.campaign_link_id, NEW.enrolled_at, NEW.campaign_sequence_length)
           IS NOT DISTINCT FROM
           (OLD.current_message_position, OLD.opted_out, OLD.booked_meeting, OLD.is_active, OLD.completed_at,
            OLD.campaign_link_id, OLD.enrolled_at, OLD.campaign_sequence_length) THEN
        RETURN NULL;
    END IF;
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
CREATE OR REPLACE TRIGGER leads_mark_due_on_insert
    AFTER INSERT ON leads
    FOR EACH ROW
    WHEN (NEW.is_active AND NEW.completed_at IS NULL
          AND (NEW.opted_out OR NEW.booked_meeting
               OR NEW.campaign_sequence_length IS NULL
               OR NEW.current_message_position >= NEW.campaign_sequence_length))
    EXECUTE FUNCTION de_enrollment_mark_due();
CREATE OR REPLACE TRIGGER leads_mark_due_on_update
    AFTER UPDATE OF current_message_position, opted_out, booked_meeting, is_active, completed_at,
                    campaign_link_id, enrolled_at, campaign_sequence_length ON leads
    FOR EACH ROW
    WHEN (NEW.is_active AND NEW.completed_at IS NULL
          AND (NEW.opted_out OR NEW.booked_meeting
               OR NEW.campaign_sequence_length IS NULL
               OR NEW.current_message_position >= NEW.campaign_sequence_length))
    EXECUTE FUNCTION de_enrollment_mark_due();
