-- Demo clients and their campaigns. Every id and value derives from the seed, so the same seed gives the same data.
-- The last client is inactive (when there is more than one), as a real platform always has one.
WITH new_clients AS (
    INSERT INTO clients (id, company_name, email, airtable_base_id, is_active, created_at, updated_at)
    SELECT md5(:seed || ':client:' || i)::uuid,
           -- at least 3 digits, never cut: lpad alone truncates 1000 to "100" and gave clients above 999 duplicate names
           'Demo Client ' || lpad(i::text, greatest(3, length(i::text)), '0'),
           'ops+client' || i || '@demo.example',
           'app' || substr(md5(:seed || ':base:' || i), 1, 14),
           NOT (i = :clients AND :clients > 1),
           :as_of - interval '90 days',
           :as_of - interval '90 days'
      FROM generate_series(1, :clients) AS i
    RETURNING id
)
INSERT INTO campaigns (id, client_id, name, messages, is_active, last_enrollment_at, created_at, updated_at)
SELECT md5(:seed || ':campaign:' || i || ':' || j)::uuid,
       md5(:seed || ':client:' || i)::uuid,
       'Demo Campaign ' || i || '.' || j,
       (SELECT jsonb_agg(jsonb_build_object('step', s, 'channel', CASE WHEN s % 2 = 1 THEN 'sms' ELSE 'email' END,
                                            'delay_days', s * 2, 'body', 'Message ' || s))
          FROM generate_series(1, 3 + (('x' || substr(md5(:seed || ':len:' || i || ':' || j), 1, 8))::bit(32)::bigint % 6)::int) AS s),
       true,
       :as_of - interval '1 day',
       :as_of - interval '60 days',
       :as_of - interval '60 days'
  FROM generate_series(1, :clients) AS i
 CROSS JOIN generate_series(1, :campaigns_per_client) AS j
 WHERE (SELECT count(*) FROM new_clients) >= 0;
