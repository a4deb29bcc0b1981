-- lead_contacts kept on write: inserted leads' contacts, once per statement, set-based (the platform and the demo
-- seeder insert leads by the thousand).
CREATE OR REPLACE FUNCTION lead_contacts_keep_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_contacts AS k (lead_id, client_id, phone_e164, email_lower)
    SELECT n.id, n.client_id, phone_e164(n.phone, s.phone_calling_code, s.phone_national_prefix),
           lower(btrim(n.email))
      FROM inserted_leads n CROSS JOIN compliance_settings s
    ON CONFLICT (lead_id) DO UPDATE
       SET client_id = EXCLUDED.client_id, phone_e164 = EXCLUDED.phone_e164, email_lower = EXCLUDED.email_lower;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER leads_keep_contacts_on_insert
    AFTER INSERT ON leads
    REFERENCING NEW TABLE AS inserted_leads
    FOR EACH STATEMENT
    EXECUTE FUNCTION lead_contacts_keep_inserted();
