-- A skipped lead's lead-log message names the operators' command; de_enroll_leads writes a command that does not
-- exist (`campaign-ops de-enroll resolve-skipped`). Corrected as the row is written (skipped rows only, a few per
-- pass), so that the de-enrollment function's body stays as it is.
CREATE OR REPLACE FUNCTION de_enrollment_skipped_message() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.error_message := replace(NEW.error_message, 'campaign-ops de-enroll resolve-skipped',
                                 'campaign-ops resolve-skipped');
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER de_enrollment_lead_log_skipped_message
    BEFORE INSERT ON de_enrollment_lead_log
    FOR EACH ROW WHEN (NEW.action = 'skipped') EXECUTE FUNCTION de_enrollment_skipped_message();
