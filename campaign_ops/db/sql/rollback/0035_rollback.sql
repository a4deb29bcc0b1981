-- Rollback of 0035: the triggers, the queue, the rule's function and the lead log's due_since.
DROP TRIGGER IF EXISTS leads_mark_due_on_update ON leads;
DROP TRIGGER IF EXISTS leads_mark_due_on_insert ON leads;
DROP FUNCTION IF EXISTS de_enrollment_mark_due();
DROP TABLE IF EXISTS de_enrollment_due_queue;
DROP FUNCTION IF EXISTS de_enrollment_lead_due(boolean, timestamptz, boolean, boolean, integer, jsonb);
ALTER TABLE de_enrollment_lead_log_archive DROP COLUMN IF EXISTS due_since;
ALTER TABLE de_enrollment_lead_log DROP COLUMN IF EXISTS due_since;
