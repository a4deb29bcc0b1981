-- Rollback of 0024: placeholder.
SELECT 1;
