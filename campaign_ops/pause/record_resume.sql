-- Lift the pause in force; its row stays as history.
UPDATE processing_pauses
   SET resumed_by = :by, resumed_at = now()
 WHERE resumed_at IS NULL
RETURNING id, paused_by, reason, paused_at, stopped_automations
