SELECT refresh_campaign_counters(CAST(:campaign_ids AS uuid[]))
