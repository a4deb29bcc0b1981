SELECT state, position, default_threshold_minutes, is_terminal, threshold_reason
  FROM onboarding_pipeline_states
 ORDER BY position
