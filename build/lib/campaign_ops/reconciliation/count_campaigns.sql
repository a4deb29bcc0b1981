SELECT count(*) AS campaigns FROM campaigns WHERE client_id = CAST(:client_id AS uuid)
