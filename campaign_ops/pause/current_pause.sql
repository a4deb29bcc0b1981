-- The pause in force, if any (at most one: processing_pauses_in_force_idx).
SELECT id, paused_by, reason, paused_at, stopped_automations
  FROM processing_pauses
 WHERE resumed_at IS NULL
