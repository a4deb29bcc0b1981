-- lead_contacts kept on write: a lead's E.164 phone and lower-case email, rewritten when its phone, email or client
-- changes (never on the platform's sends).
CREATE OR REPLACE FUNCTION lead_contacts_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_contacts AS k (lead_id, client_id, phone_e164, email_lower)
    SELECT NEW.id, NEW.client_id, phone_e164(NEW.phone, s.phone_calling_code, s.phone_national_prefix),
           lower(btrim(NEW.email))
      FROM compliance_settings s
    ON CONFLICT (lead_id) DO UPDATE
       SET client_id = EXCLUDED.client_id, phone_e164 = EXCLUDED.phone_e164, email_lower = EXCLUDED.email_lower;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER leads_keep_contacts_on_update
    AFTER UPDATE OF phone, email, client_id ON leads
    FOR EACH ROW
    WHEN ((NEW.phone, NEW.email, NEW.client_id) IS DISTINCT FROM (OLD.phone, OLD.email, OLD.client_id))
    EXECUTE FUNCTION lead_contacts_keep();
