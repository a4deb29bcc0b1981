-- 0024: placeholder reserved for issue 4 (archive tables for de_enrollment_runs and de_enrollment_lead_log); filled in by that work.
SELECT 1;
