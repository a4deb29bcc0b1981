-- 0023: placeholder reserved for issue 4 (stats reconciliation log); filled in by that work.
SELECT 1;
