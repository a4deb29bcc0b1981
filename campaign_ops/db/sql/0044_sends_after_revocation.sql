-- 0044: a message sent after revocation is recorded as it happens.
--
-- The platform sends a message and advances current_message_position. An advance on a lead that had opted out or
-- was no longer active (de-enrolled, completed) is a message after revocation: this trigger writes it down in the
-- same transaction, with when the revocation was seen, so the evidence exists whatever happens afterwards.
-- The WHEN clause decides on the row alone (no function call, no look-up): the platform's ordinary UPDATEs, which
-- advance active leads, pay only for evaluating it. The look-ups below run for violations only.

-- No foreign keys: they would add checks to the rare write of a violation that must never fail, and the evidence
-- outlives a deleted lead. sent_at is the moment of the UPDATE (clock_timestamp(), not the transaction's start).
CREATE TABLE compliance_sends_after_revocation (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id          uuid        NOT NULL,
    client_id        uuid        NOT NULL,
    campaign_id      uuid,
    enrolled_at      timestamptz,
    old_position     integer     NOT NULL,
    new_position     integer     NOT NULL,
    sent_at          timestamptz NOT NULL,
    -- what the lead was when the message went out: opted_out (whatever else) or inactive (de-enrolled, completed)
    revoked_as       text        NOT NULL,
    -- when the opt-out was first seen (the due queue's mark or its de-enrollment's due moment), else when it was
    -- de-enrolled; NULL when nothing recorded it (the platform deactivated the lead itself)
    revoked_at       timestamptz,
    -- the de-enrollment of this lead that the message came after (its lead-log row), if any
    de_enrolled_by_run uuid,
    CONSTRAINT compliance_sends_after_revocation_as_known CHECK (revoked_as IN ('opted_out', 'inactive'))
);
CREATE INDEX compliance_sends_after_revocation_client_sent_idx
    ON compliance_sends_after_revocation (client_id, sent_at);
CREATE INDEX compliance_sends_after_revocation_lead_idx ON compliance_sends_after_revocation (lead_id);
CREATE INDEX compliance_sends_after_revocation_sent_idx ON compliance_sends_after_revocation (sent_at);

CREATE FUNCTION compliance_record_send_after_revocation() RETURNS trigger
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

-- The state before the UPDATE decides: a message that went out while the lead was opted out or inactive.
CREATE TRIGGER leads_record_send_after_revocation
    AFTER UPDATE OF current_message_position ON leads
    FOR EACH ROW
    WHEN (NEW.current_message_position > OLD.current_message_position AND (OLD.opted_out OR NOT OLD.is_active))
    EXECUTE FUNCTION compliance_record_send_after_revocation();

-- The due queue's triggers decided on the row alone only for leads the rule already rejects: every message sent to
-- an active lead ran de_enrollment_mark_due, a function call and a look-up of its campaign's messages, to learn
-- that the lead was not at the end of its sequence yet. The lead now carries its campaign's sequence length, so
-- their WHEN clauses let through only leads that may be due (opted out, booked, at or past the end, or of unknown
-- length); de_enrollment_mark_due still decides with the campaign's messages, as before.
--
-- campaign_sequence_length is kept on write: set from the campaign when a lead is inserted or moves to another
-- campaign (a BEFORE trigger), and rewritten on the campaign's leads when its messages change length. A value left
-- stale by a race (a lead inserted while its campaign's messages change, both uncommitted) errs either way: too
-- short fires the function for nothing (it decides with the campaign's messages), too long leaves the lead for the
-- 15-minute sweep, which reads the campaigns (the safety net it already is for shortened campaigns).
ALTER TABLE leads ADD COLUMN campaign_sequence_length integer;

CREATE FUNCTION campaign_sequence_length(p_messages jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN jsonb_typeof(p_messages) = 'array' THEN jsonb_array_length(p_messages) END $$;

UPDATE leads l
   SET campaign_sequence_length = campaign_sequence_length(c.messages)
  FROM campaigns c
 WHERE c.id = l.campaign_link_id;

CREATE FUNCTION leads_set_sequence_length() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.campaign_sequence_length := (SELECT campaign_sequence_length(c.messages)
                                       FROM campaigns c WHERE c.id = NEW.campaign_link_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER leads_set_sequence_length_on_insert
    BEFORE INSERT ON leads
    FOR EACH ROW
    EXECUTE FUNCTION leads_set_sequence_length();
CREATE TRIGGER leads_set_sequence_length_on_update
    BEFORE UPDATE OF campaign_link_id ON leads
    FOR EACH ROW
    WHEN (NEW.campaign_link_id IS DISTINCT FROM OLD.campaign_link_id)
    EXECUTE FUNCTION leads_set_sequence_length();

CREATE FUNCTION campaigns_propagate_sequence_length() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads
       SET campaign_sequence_length = campaign_sequence_length(NEW.messages)
     WHERE campaign_link_id = NEW.id
       AND campaign_sequence_length IS DISTINCT FROM campaign_sequence_length(NEW.messages);
    RETURN NULL;
END
$$;
CREATE TRIGGER campaigns_propagate_sequence_length
    AFTER UPDATE OF messages ON campaigns
    FOR EACH ROW
    WHEN (campaign_sequence_length(NEW.messages) IS DISTINCT FROM campaign_sequence_length(OLD.messages))
    EXECUTE FUNCTION campaigns_propagate_sequence_length();

-- 0035's triggers with the length in their WHEN clause (and in the update's column list: a campaign shortened
-- under its leads now marks the ones it made due). The WHEN clause is short on purpose: PostgreSQL reads and
-- compiles it again for every statement that updates a row, which for the platform's single-row UPDATEs is the
-- whole cost of a trigger that does not fire. 0035's "only when a column changed" comparison moves into the
-- function, which runs for leads that may be due only: an ORM saving every column unchanged still marks nothing.
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
DROP TRIGGER leads_mark_due_on_insert ON leads;
DROP TRIGGER leads_mark_due_on_update ON leads;
CREATE TRIGGER leads_mark_due_on_insert
    AFTER INSERT ON leads
    FOR EACH ROW
    WHEN (NEW.is_active AND NEW.completed_at IS NULL
          AND (NEW.opted_out OR NEW.booked_meeting
               OR NEW.campaign_sequence_length IS NULL
               OR NEW.current_message_position >= NEW.campaign_sequence_length))
    EXECUTE FUNCTION de_enrollment_mark_due();
CREATE TRIGGER leads_mark_due_on_update
    AFTER UPDATE OF current_message_position, opted_out, booked_meeting, is_active, completed_at,
                    campaign_link_id, enrolled_at, campaign_sequence_length ON leads
    FOR EACH ROW
    WHEN (NEW.is_active AND NEW.completed_at IS NULL
          AND (NEW.opted_out OR NEW.booked_meeting
               OR NEW.campaign_sequence_length IS NULL
               OR NEW.current_message_position >= NEW.campaign_sequence_length))
    EXECUTE FUNCTION de_enrollment_mark_due();
