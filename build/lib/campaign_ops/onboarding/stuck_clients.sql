-- Clients whose onboarding stayed in one state longer than that state's threshold (strictly longer).
-- thresholds is a JSON object {state: minutes} that overrides the defaults of onboarding_pipeline_states.
WITH thresholds AS (
    SELECT ps.state, ps.is_terminal,
           COALESCE((CAST(:thresholds AS jsonb) ->> ps.state)::int, ps.default_threshold_minutes) AS threshold_minutes
      FROM onboarding_pipeline_states ps
)
SELECT o.client_id::text AS client_id,
       c.company_name,
       o.current_state AS state,
       o.state_entered_at,
       o.stuck_detected_at,
       t.threshold_minutes,
       t.is_terminal,
       c.payment_active,
       extract(epoch FROM CAST(:now AS timestamptz) - o.state_entered_at) / 60.0 AS minutes_in_state
  FROM onboarding_states o
  JOIN clients c ON c.id = o.client_id
  JOIN thresholds t ON t.state = o.current_state
 WHERE o.completed_at IS NULL
   AND t.threshold_minutes IS NOT NULL
   AND CAST(:now AS timestamptz) - o.state_entered_at > make_interval(mins => t.threshold_minutes)
 ORDER BY extract(epoch FROM CAST(:now AS timestamptz) - o.state_entered_at) / t.threshold_minutes DESC, o.client_id
