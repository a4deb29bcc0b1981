-- 0025: placeholder reserved for issue 6 (alert silences and delivery bookkeeping); filled in by that work.
SELECT 1;
