-- Stamp when a client was first found stuck in its current state; a second detection changes nothing.
UPDATE onboarding_states
   SET stuck_detected_at = CAST(:now AS timestamptz)
 WHERE client_id = ANY(CAST(:client_ids AS uuid[]))
   AND (stuck_detected_at IS NULL OR stuck_detected_at < state_entered_at)
