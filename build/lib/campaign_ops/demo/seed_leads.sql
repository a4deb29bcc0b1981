-- Demo leads, set-based. Each lead's kind comes from a hash of (seed, n):
--   45% in progress, 25% completable (position >= sequence length), 5% opted out and 5% booked (both still
--   active, waiting for de-enrollment), 20% already completed (inactive, with one campaign_history entry).
WITH params AS (
    SELECT n,
           ((n - 1) % :clients) + 1 AS i,
           (('x' || substr(md5(:seed || ':lc:' || n), 1, 8))::bit(32)::bigint % :campaigns_per_client) + 1 AS j,
           -- the inactive (last) client has nothing waiting for de-enrollment: its leads were paused in progress
           CASE WHEN ((n - 1) % :clients) + 1 = :clients AND :clients > 1
                THEN (('x' || substr(md5(:seed || ':lk:' || n), 1, 8))::bit(32)::bigint % 100) % 45
                ELSE (('x' || substr(md5(:seed || ':lk:' || n), 1, 8))::bit(32)::bigint % 100) END AS kind,
           (('x' || substr(md5(:seed || ':lp:' || n), 1, 8))::bit(32)::bigint % 1000) / 1000.0 AS r
      FROM generate_series(1, :leads) AS n
), placed AS (
    SELECT p.*, c.id AS campaign_id, c.client_id, c.name AS campaign_name,
           jsonb_array_length(c.messages) AS len
      FROM params p
      JOIN campaigns c ON c.id = md5(:seed || ':campaign:' || p.i || ':' || p.j)::uuid
)
INSERT INTO leads (id, client_id, campaign_link_id, first_name, last_name, phone, email,
                   current_message_position, is_active, opted_out, booked_meeting, enrolled_at,
                   completed_at, campaign_history, created_at, updated_at)
SELECT md5(:seed || ':lead:' || n)::uuid,
       client_id,
       campaign_id,
       (ARRAY['Ada','Ben','Cleo','Dev','Eli','Fay','Gus','Hana','Ivo','Jun'])[1 + n % 10],
       (ARRAY['Adams','Baker','Chen','Diaz','Evans','Fox','Gray','Hill'])[1 + n % 8],
       '+1555' || lpad((n % 10000000)::text, 7, '0'),
       'lead' || n || '@demo.example',
       CASE WHEN kind < 45 THEN floor(r * len)::int
            WHEN kind < 70 THEN len + floor(r * 2)::int
            WHEN kind < 80 THEN floor(r * len)::int
            ELSE len END,
       kind < 80,
       kind >= 70 AND kind < 75,
       kind >= 75 AND kind < 80,
       :as_of - make_interval(days => 2 + floor(r * 40)::int),
       CASE WHEN kind >= 80 THEN :as_of - make_interval(days => 1 + floor(r * 1)::int) END,
       CASE WHEN kind >= 80 THEN jsonb_build_array(jsonb_build_object(
                'campaign_id', campaign_id, 'campaign_name', campaign_name,
                'enrolled_at', :as_of - make_interval(days => 2 + floor(r * 40)::int),
                'ended_at', :as_of - make_interval(days => 1 + floor(r * 1)::int),
                'messages_received', len, 'outcome', 'completed'))
            ELSE '[]'::jsonb END,
       :as_of - make_interval(days => 2 + floor(r * 40)::int),
       :as_of - make_interval(days => 2 + floor(r * 40)::int)
  FROM placed;
