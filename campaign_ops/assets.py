"""The data campaign-ops keeps, as Dagster assets partitioned by client.

They are `AssetSpec`s materialized by the jobs that change them (de-enrollment records one materialization per
client partition, with that client's figures), rather than assets computed from upstream data: the tables are
owned by the outreach platform, our jobs correct them in place. This way each client's partition shows, in the
UI, when it was last de-enrolled and how it went, and checks attach to the table they inspect.
"""

import dagster as dg

from campaign_ops.clients.partitions import clients_partitions
from campaign_ops.pause.defs import WRITES

GROUP = "campaign_data"

leads_asset = dg.AssetSpec(
    "leads",
    partitions_def=clients_partitions,
    group_name=GROUP,
    skippable=True,
    description="Leads and their enrollment state (is_active, completed_at, campaign_history), per client.",
    kinds={"postgres"},
    tags=WRITES,  # de-enrollment changes it: `campaign-ops pause` refuses its runs
)
campaigns_asset = dg.AssetSpec(
    "campaigns",
    partitions_def=clients_partitions,
    group_name=GROUP,
    skippable=True,
    description="Campaigns and their counters (active, completed, opted out, booked), per client.",
    kinds={"postgres"},
    tags=WRITES,  # de-enrollment changes it: `campaign-ops pause` refuses its runs
)
de_enrollment_runs_asset = dg.AssetSpec(
    "de_enrollment_runs",
    partitions_def=clients_partitions,
    group_name=GROUP,
    skippable=True,
    description="One row per client pass of de-enrollment (status, counts, duration) and its lead log.",
    kinds={"postgres"},
    tags=WRITES,  # de-enrollment changes it: `campaign-ops pause` refuses its runs
)

LEADS = leads_asset.key
CAMPAIGNS = campaigns_asset.key
DE_ENROLLMENT_RUNS = de_enrollment_runs_asset.key
# what a de-enrollment pass records per client, whichever way it was started
DE_ENROLLMENT_ASSETS = frozenset({LEADS, CAMPAIGNS, DE_ENROLLMENT_RUNS})
