-- Active clients: each is expected to run about 96 times a day (every 15 minutes).
SELECT count(*) FROM clients WHERE is_active
