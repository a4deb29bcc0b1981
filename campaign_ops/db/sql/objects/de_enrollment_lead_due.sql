-- The due rule's lead-side part, for de-enrollment, the due queue, the sweep's triage and the stuck-lead view: an
-- active, not completed lead that opted out, booked a meeting, or reached the end of its campaign's sequence (a
-- campaign whose messages is not a JSON array decides nothing). NULL when the messages are needed and not given (or
-- not an array): callers test IS TRUE. The lead must also sit in a campaign of an active client; whoever calls this
-- joins them. An SQL expression, inlined by the planner (the same plan as the expression written out).
CREATE OR REPLACE FUNCTION de_enrollment_lead_due(
    p_is_active boolean, p_completed_at timestamptz, p_opted_out boolean, p_booked_meeting boolean,
    p_position integer, p_messages jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT p_is_active AND p_completed_at IS NULL
       AND (p_opted_out OR p_booked_meeting
            OR p_position >= CASE WHEN jsonb_typeof(p_messages) = 'array' THEN jsonb_array_length(p_messages) END)
$$;
