-- Rollback of 0045, run after the migration runner has dropped the objects under objects/ and put back the SOP's
-- own forms of the functions the SOP defined (from its migration files). Refused (by the unique index or the
-- constraint) while the lead log holds rows only 0045 allows (restored, resolved, a second de_enrolled row of an
-- enrollment): resolve them first. The paging channels' delivery rows go with their channels.
DROP TABLE IF EXISTS lead_contacts;
DROP TABLE IF EXISTS compliance_client_settings;
DROP TABLE IF EXISTS compliance_settings;
ALTER TABLE leads DROP COLUMN IF EXISTS campaign_sequence_length;
DROP TABLE IF EXISTS compliance_sends_after_revocation;
DROP TABLE IF EXISTS alert_sensor_ticks;
DELETE FROM alert_deliveries WHERE channel IN ('sms', 'pagerduty');
ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_channel_known;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_channel_known
    CHECK (channel IN ('slack_webhook', 'slack_api', 'log', 'none'));
DROP TABLE IF EXISTS alert_acks;
DROP TABLE IF EXISTS alert_channel_states;
DROP TABLE IF EXISTS processing_pauses;
ALTER TABLE de_enrollment_lead_log_archive DROP COLUMN IF EXISTS due_since;
ALTER TABLE de_enrollment_lead_log DROP COLUMN IF EXISTS due_since;
DROP TABLE IF EXISTS de_enrollment_due_queue;
DROP INDEX IF EXISTS de_enrollment_runs_running_idx;
ALTER TABLE alert_logs DROP COLUMN IF EXISTS silenced_digest;
CREATE UNIQUE INDEX de_enrollment_lead_log_one_per_enrollment_idx
    ON de_enrollment_lead_log (lead_id, campaign_id, enrolled_at) NULLS NOT DISTINCT
    WHERE action = 'de_enrolled';
ALTER TABLE de_enrollment_lead_log_archive ALTER COLUMN run_id SET NOT NULL;
ALTER TABLE de_enrollment_lead_log ALTER COLUMN run_id SET NOT NULL;
ALTER TABLE de_enrollment_lead_log DROP CONSTRAINT de_enrollment_lead_log_action_known;
ALTER TABLE de_enrollment_lead_log ADD CONSTRAINT de_enrollment_lead_log_action_known
    CHECK (action IN ('de_enrolled', 'skipped', 'error'));
