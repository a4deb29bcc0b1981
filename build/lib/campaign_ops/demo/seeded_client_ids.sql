-- the ids of the demo clients of :seed (the same derivation seed_clients_campaigns.sql gives them)
SELECT md5(:seed || ':client:' || i)::uuid FROM generate_series(1, :clients) AS i;
