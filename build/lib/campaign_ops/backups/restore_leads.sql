-- The SOP's rollback Step 4 for leads, limited to rows that differ (same end state; the count is of real changes).
-- A template: the backup table name is an identifier quoted by the caller.
WITH changed AS (
    UPDATE leads l
    SET
      is_active = b.is_active,
      completed_at = b.completed_at,
      campaign_history = b.campaign_history
    FROM {leads_backup} b
    WHERE l.id = b.id
      AND (l.is_active, l.completed_at, l.campaign_history)
          IS DISTINCT FROM (b.is_active, b.completed_at, b.campaign_history)
    RETURNING 1
)
SELECT count(*) FROM changed
