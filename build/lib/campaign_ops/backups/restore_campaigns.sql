-- The SOP's rollback Step 4 for campaigns, limited to rows that differ (same end state; the count is of real changes).
-- A template: the backup table name is an identifier quoted by the caller.
WITH changed AS (
    UPDATE campaigns c
    SET
      is_active = b.is_active,
      active_leads_count = b.active_leads_count,
      completed_leads_count = b.completed_leads_count,
      opted_out_count = b.opted_out_count,
      booked_count = b.booked_count
    FROM {campaigns_backup} b
    WHERE c.id = b.id
      AND (c.is_active, c.active_leads_count, c.completed_leads_count, c.opted_out_count, c.booked_count)
          IS DISTINCT FROM (b.is_active, b.active_leads_count, b.completed_leads_count, b.opted_out_count,
                            b.booked_count)
    RETURNING 1
)
SELECT count(*) FROM changed
