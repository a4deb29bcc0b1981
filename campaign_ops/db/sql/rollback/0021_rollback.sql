-- Rollback of 0021 (SOP): remove the monitoring tables, functions and view (the logs go with them).
DROP VIEW IF EXISTS de_enrollment_health;
DROP FUNCTION IF EXISTS process_de_enrollment_batch(uuid, uuid[]);
DROP FUNCTION IF EXISTS get_leads_for_de_enrollment(uuid, integer, uuid);
DROP FUNCTION IF EXISTS de_enroll_client_leads(uuid, uuid, uuid[], integer);
DROP FUNCTION IF EXISTS refresh_campaign_counters(uuid[]);
DROP FUNCTION IF EXISTS client_lock_key(uuid);
DROP TABLE IF EXISTS de_enrollment_lead_log;
DROP TABLE IF EXISTS de_enrollment_runs;
