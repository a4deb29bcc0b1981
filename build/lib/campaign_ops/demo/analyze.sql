-- fresh statistics, so the first run after seeding is planned on the real sizes
ANALYZE clients;
ANALYZE campaigns;
ANALYZE leads;
