-- First statements of a check's transaction: one consistent, read-only snapshot, and a statement timeout
-- (milliseconds, as text) local to the transaction.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SELECT set_config('statement_timeout', :statement_timeout, true);
