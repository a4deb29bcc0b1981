VACUUM (ANALYZE) de_enrollment_runs, de_enrollment_lead_log
