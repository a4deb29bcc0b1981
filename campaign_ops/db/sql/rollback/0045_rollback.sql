-- Rollback of 0045: the person-wide revocation step, the leads' contacts and the compliance settings.
DROP FUNCTION IF EXISTS compliance_revoke_person(uuid[], uuid[]);
DROP TRIGGER IF EXISTS leads_keep_contacts_on_insert ON leads;
DROP TRIGGER IF EXISTS leads_keep_contacts_on_update ON leads;
DROP FUNCTION IF EXISTS lead_contacts_keep();
DROP FUNCTION IF EXISTS lead_contacts_keep_inserted();
DROP TABLE IF EXISTS lead_contacts;
DROP FUNCTION IF EXISTS phone_e164(text, text, text);
DROP TABLE IF EXISTS compliance_client_settings;
DROP TABLE IF EXISTS compliance_settings;
