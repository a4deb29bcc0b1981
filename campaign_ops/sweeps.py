"""Scheduled work for all clients is ONE run per tick over the client partitions (a partition range).

A Dagster run costs seconds before it does anything: 100 one-client runs took 231 s of this 2-core machine, one
run over the same 100 partitions about 6 s. So schedules ask for a range run; one-client runs are for backfills.
"""

from collections.abc import Sequence

import dagster as dg

from campaign_ops.clients import partition_keys
from campaign_ops.clients.sweep import ClientFailure
from campaign_ops.partitions import clients_partitions

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"
# scopes a run of the (unpartitioned) checks to one client; absent: every active client
CLIENT_TAG = partition_keys.CLIENT_TAG
# metadata key of a check evaluation scoped to one client: that client's id (the alert sensor reads it)
CLIENT_METADATA = "client_id"


def client_id_of_key(key: str) -> str:
    """The client id a clients partition key (or a CLIENT_TAG value) names: the one place keys map to clients."""
    return partition_keys.client_id_of(key)


def tick_run_key(context: dg.ScheduleEvaluationContext, prefix: str) -> str:
    """One run per schedule tick: the key names the tick, so a tick evaluated twice launches once."""
    scheduled = context.scheduled_execution_time
    return f"{prefix}:{scheduled.isoformat() if scheduled else 'manual'}"


def all_clients_run_request(
    context: dg.ScheduleEvaluationContext, *, run_key_prefix: str
) -> dg.RunRequest | dg.SkipReason:
    """A run request covering every clients partition, or a skip reason when there is none yet."""
    keys = clients_partitions.get_partition_keys(dynamic_partitions_store=context.instance)
    if not keys:
        return dg.SkipReason("no clients partitions yet (the clients_partition_sync_sensor adds them)")
    return dg.RunRequest(
        run_key=tick_run_key(context, run_key_prefix),
        tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1], "campaign_ops/sweep": "all_clients"},
    )


def clients_failed(what: str, failures: Sequence[ClientFailure], total: int) -> dg.Failure:
    """The one failure a sweep raises after every client was tried: each failed client by name, with its error."""
    named = "; ".join(f"{f.client_name or '?'} ({f.client_id}): {f.error}" for f in failures)
    return dg.Failure(
        description=f"{what} failed for {len(failures)} of {total} client(s): {named}",
        metadata={"failed_clients": dg.MetadataValue.json([f.client_id for f in failures])},
    )
