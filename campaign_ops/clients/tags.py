"""The run tags that say which clients a run covers, each named once.

Dagster's own tags come from Dagster (the names its executor, UI and backfills read; private in Dagster 1.13, so
they come through campaign_ops/dagster_internals.py).
Ours: the client of a one-client run of the unpartitioned jobs (CLIENT_TAG, CLIENT_ID_TAG: defined beside the
partition keys, which the command line reads without importing Dagster) and the mark of a scheduled sweep over all
active clients (SWEEP_TAG).
"""

from collections.abc import Sequence

from campaign_ops.clients.partition_keys import CLIENT_ID_TAG, CLIENT_TAG
from campaign_ops.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

__all__ = [
    "ALL_CLIENTS",
    "CLIENTS_TAG",
    "CLIENT_ID_TAG",
    "CLIENT_TAG",
    "OUTCOME_TAGS",
    "PARTITION_TAG",
    "RANGE_END_TAG",
    "RANGE_START_TAG",
    "SWEEP_TAG",
    "names_tag_value",
    "range_tags",
]

# a one-partition run: the clients partition key
PARTITION_TAG = PARTITION_NAME_TAG
# a run over a range of clients partitions (first and last key, inclusive)
RANGE_START_TAG = ASSET_PARTITION_RANGE_START_TAG
RANGE_END_TAG = ASSET_PARTITION_RANGE_END_TAG
# a scheduled run over every active client (a range that happens to hold one client is still a sweep)
SWEEP_TAG = "campaign_ops/sweep"
ALL_CLIENTS = "all_clients"


def range_tags(keys: Sequence[str]) -> dict[str, str]:
    """The tags of one run over the clients partitions `keys` (sorted as Dagster lists them), first to last."""
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}


# the clients a run over several of them was launched for, by name (the due sensor's runs)
CLIENTS_TAG = "campaign_ops/clients"
# what a de-enrollment run did not finish, by client name, written by the run when its passes are recorded: the
# Runs list shows and filters tags, so which clients failed, were left partial or skipped is read there
OUTCOME_TAGS = {
    "failed": "campaign_ops/failed_clients",
    "partial": "campaign_ops/partial_clients",
    "skipped": "campaign_ops/skipped_clients",
}
# clients named in one tag's value, the rest counted
NAMED_IN_TAG = 5


def names_tag_value(names: Sequence[str]) -> str:
    """Client names for a tag's value: the first few, the rest counted."""
    shown = ", ".join(names[:NAMED_IN_TAG])
    return shown + (f" and {len(names) - NAMED_IN_TAG} more" if len(names) > NAMED_IN_TAG else "")
