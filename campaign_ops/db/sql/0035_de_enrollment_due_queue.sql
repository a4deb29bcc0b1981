-- 0035: which leads became due for de-enrollment, kept by a trigger, so "which clients have due work now" costs
-- work that grows with the leads that changed, not with all leads (the due predicate over every lead costs
-- 0.1-0.4 s at 1M leads and grows with the table).
--
-- de_enrollment_lead_due: the rule's lead-side part, the same as de_enroll_client_leads (0028) and the sweep's
-- triage: an active, not completed lead that opted out, booked a meeting, or reached the end of its campaign's
-- sequence (a campaign whose messages is not a JSON array decides nothing). NULL when the messages are needed
-- and not given (or not an array): callers test IS TRUE. The lead must also sit in a campaign of an active client
-- (the joins of de_enroll_client_leads); whoever calls this joins them. An SQL expression, inlined by the planner.
CREATE FUNCTION de_enrollment_lead_due(
    p_is_active boolean, p_completed_at timestamptz, p_opted_out boolean, p_booked_meeting boolean,
    p_position integer, p_messages jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT p_is_active AND p_completed_at IS NULL
       AND (p_opted_out OR p_booked_meeting
            OR p_position >= CASE WHEN jsonb_typeof(p_messages) = 'array' THEN jsonb_array_length(p_messages) END)
$$;

-- One row per lead that became due and whose de-enrollment is not yet settled. due_since is when it became due
-- for this enrollment (campaign_id, enrolled_at); version changes on every later mark, so that settling (which
-- deletes rows it found done) never deletes a mark written after it looked. No foreign keys: they would add a
-- check to every platform UPDATE that marks a lead; rows of deleted leads are settled away.
CREATE TABLE de_enrollment_due_queue (
    lead_id     uuid        PRIMARY KEY,
    client_id   uuid        NOT NULL,
    campaign_id uuid,
    enrolled_at timestamptz,
    due_since   timestamptz NOT NULL,
    version     bigint      NOT NULL DEFAULT 1
);
CREATE INDEX de_enrollment_due_queue_client_idx ON de_enrollment_due_queue (client_id, due_since);

-- Marks a lead that is due after this INSERT/UPDATE. Fired only for rows the rule does not already reject without
-- the campaign (the WHEN clause), so updates of de-enrolled or completed leads cost no lookup.
CREATE FUNCTION de_enrollment_mark_due() RETURNS trigger
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

-- The columns the rule reads (a lead's position, opt-out and booking, and what re-enrollment or a restore
-- changes). The rule without the campaign's messages is already FALSE for an inactive or completed lead.
CREATE TRIGGER leads_mark_due_on_insert
    AFTER INSERT ON leads
    FOR EACH ROW
    WHEN (de_enrollment_lead_due(NEW.is_active, NEW.completed_at, NEW.opted_out, NEW.booked_meeting,
                                 NEW.current_message_position, NULL) IS NOT FALSE)
    EXECUTE FUNCTION de_enrollment_mark_due();
-- An UPDATE that sets these columns to the values they had (an ORM saving every column) marks nothing.
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

-- Per lead, the time from "became due" to de-enrolled: due_since is copied from the queue when the
-- de-enrollment is settled (processed_at - due_since). NULL for de-enrollments of leads never marked (before
-- this migration, or a campaign shortened under them: the 15-minute sweep finds those).
ALTER TABLE de_enrollment_lead_log ADD COLUMN due_since timestamptz;
ALTER TABLE de_enrollment_lead_log_archive ADD COLUMN due_since timestamptz;

-- Leads due now, before any platform update marks them: the queue starts out true.
INSERT INTO de_enrollment_due_queue (lead_id, client_id, campaign_id, enrolled_at, due_since)
SELECT l.id, l.client_id, l.campaign_link_id, l.enrolled_at, now()
  FROM leads l
  JOIN campaigns c ON c.id = l.campaign_link_id
 WHERE l.is_active AND l.completed_at IS NULL
   AND de_enrollment_lead_due(l.is_active, l.completed_at, l.opted_out, l.booked_meeting,
                              l.current_message_position, c.messages) IS TRUE;
