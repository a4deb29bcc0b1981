-- After the SOP's two restores: the counters are derived data, recomputed from the restored leads (leads created,
-- opted out or booked since the backup are not restored, so the backup's counters may not describe them).
SELECT refresh_campaign_counters(ARRAY(SELECT id FROM campaigns))
