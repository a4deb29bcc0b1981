-- A new pause, unless one is in force already (then nothing: the caller reads that one).
INSERT INTO processing_pauses (paused_by, reason)
VALUES (:by, :reason)
ON CONFLICT ((true)) WHERE resumed_at IS NULL DO NOTHING
RETURNING id
