SELECT count(*) FILTER (WHERE status = 'AVAILABLE') AS available, count(*) AS total FROM twilio_number_pool
