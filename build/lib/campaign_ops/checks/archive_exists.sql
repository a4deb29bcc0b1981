-- Whether the lead-log archive (migration 0024) exists in this database.
SELECT to_regclass('de_enrollment_lead_log_archive') IS NOT NULL
