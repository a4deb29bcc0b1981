-- Rollback of 0023: placeholder.
SELECT 1;
