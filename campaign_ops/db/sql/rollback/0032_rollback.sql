-- Rollback of 0032: the digest of the last silenced record.
ALTER TABLE alert_logs DROP COLUMN IF EXISTS silenced_digest;
