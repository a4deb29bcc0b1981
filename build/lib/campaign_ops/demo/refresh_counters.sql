-- counters consistent with the seeded leads, by the same definitions de-enrollment and reconciliation use
SELECT refresh_campaign_counters(array_agg(id)) FROM campaigns WHERE client_id = ANY(:ids);
