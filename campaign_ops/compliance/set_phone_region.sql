-- The default region's calling code and national prefix (from phonenumbers), then every stored phone written
-- in a national format normalized again with them, set-based.
WITH settings AS (
    UPDATE compliance_settings
       SET phone_region = :region, phone_calling_code = :calling_code, phone_national_prefix = :national_prefix,
           updated_at = now()
    RETURNING phone_calling_code, phone_national_prefix
), changed AS (
    UPDATE lead_contacts k
       SET phone_e164 = phone_e164(l.phone, s.phone_calling_code, s.phone_national_prefix)
      FROM leads l, settings s
     WHERE l.id = k.lead_id AND l.phone IS NOT NULL AND l.phone !~ '^\s*\+'
       AND k.phone_e164 IS DISTINCT FROM phone_e164(l.phone, s.phone_calling_code, s.phone_national_prefix)
    RETURNING 1
)
SELECT count(*) FROM changed
