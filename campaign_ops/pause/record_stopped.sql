-- The schedules and sensors a pause stopped, added to its row (a second `pause` may stop one started meanwhile).
UPDATE processing_pauses
   SET stopped_automations = ARRAY(SELECT DISTINCT unnest(stopped_automations || CAST(:names AS text[])) ORDER BY 1)
 WHERE id = :id
