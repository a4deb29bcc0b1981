-- An invariant de-enrollment keeps: a completed lead is never active.
SELECT count(*) FROM leads WHERE is_active AND completed_at IS NOT NULL
