SELECT id, until, lifted_at FROM alert_silences WHERE id = :id
