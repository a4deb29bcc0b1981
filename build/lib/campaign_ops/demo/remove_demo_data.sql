-- Remove the rows of this seed's demo clients (and only those), so that seeding again starts clean.
DROP TABLE IF EXISTS pg_temp.demo_client_ids;
CREATE TEMP TABLE demo_client_ids ON COMMIT DROP AS
    SELECT md5(:seed || ':client:' || i)::uuid AS id FROM generate_series(1, 10000) AS i;
DELETE FROM de_enrollment_lead_log WHERE client_id IN (SELECT id FROM demo_client_ids);
DELETE FROM de_enrollment_lead_log_archive WHERE client_id IN (SELECT id FROM demo_client_ids);
DELETE FROM de_enrollment_runs_archive WHERE client_id IN (SELECT id FROM demo_client_ids);
DELETE FROM stats_reconciliation_log WHERE client_id IN (SELECT id FROM demo_client_ids);
DELETE FROM onboarding_states WHERE client_id IN (SELECT id FROM demo_client_ids);
DELETE FROM twilio_number_pool WHERE phone_e164 LIKE '+1555010%';
DELETE FROM lifecycle_campaign_metrics WHERE campaign_schedule_id IN
    (SELECT id FROM lifecycle_campaign_schedules WHERE campaign_name = 'Client Letter Automation (demo)');
DELETE FROM lifecycle_notification_logs WHERE campaign_schedule_id IN
    (SELECT id FROM lifecycle_campaign_schedules WHERE campaign_name = 'Client Letter Automation (demo)');
DELETE FROM lifecycle_campaign_schedules WHERE campaign_name = 'Client Letter Automation (demo)';
DELETE FROM de_enrollment_runs WHERE client_id IN (SELECT id FROM demo_client_ids);
DELETE FROM leads WHERE client_id IN (SELECT id FROM demo_client_ids);
DELETE FROM campaigns WHERE client_id IN (SELECT id FROM demo_client_ids);
DELETE FROM clients WHERE id IN (SELECT id FROM demo_client_ids);
