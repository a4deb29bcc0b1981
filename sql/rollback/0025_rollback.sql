-- Rollback of 0025: placeholder.
SELECT 1;
