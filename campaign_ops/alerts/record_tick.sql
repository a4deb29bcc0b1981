-- An alert sensor completed a tick.
INSERT INTO alert_sensor_ticks (sensor_name, last_tick_at, summary)
VALUES (:sensor_name, :now, :summary)
    ON CONFLICT (sensor_name) DO UPDATE SET last_tick_at = :now, summary = :summary
