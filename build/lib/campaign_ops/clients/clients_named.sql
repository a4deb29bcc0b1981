-- Clients whose company name is the given text, ignoring case and surrounding/inner runs of blanks.
SELECT id::text AS client_id, company_name, is_active
  FROM clients
 WHERE lower(regexp_replace(btrim(company_name), '\s+', ' ', 'g')) = lower(regexp_replace(btrim(:name), '\s+', ' ', 'g'))
 ORDER BY company_name, id
