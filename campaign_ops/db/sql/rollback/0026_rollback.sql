-- Rollback of 0026: remove onboarding tracking and the number pool.
DROP TABLE IF EXISTS twilio_number_pool;
DROP TABLE IF EXISTS onboarding_states;
ALTER TABLE clients
    DROP CONSTRAINT IF EXISTS clients_phone_number_e164,
    DROP CONSTRAINT IF EXISTS clients_phone_number_key,
    DROP COLUMN IF EXISTS phone_number,
    DROP COLUMN IF EXISTS payment_active;
DROP TABLE IF EXISTS onboarding_pipeline_states;
