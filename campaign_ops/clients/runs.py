"""Dagster runs over clients: scheduled work for all clients is ONE run per tick over the client partitions (a
partition range); a run's scope tags; the one failure of a sweep.

A Dagster run costs seconds before it does anything, so a hundred one-client runs cost a hundred start-ups where one
run over the same partitions costs one (BENCHMARKS.md). So schedules ask for a range run; one-client runs are for
backfills.
"""

from collections.abc import Mapping, Sequence

import dagster as dg

from campaign_ops.clients import partition_keys
from campaign_ops.clients.partitions import clients_partitions
from campaign_ops.clients.sweep import ClientFailure
from campaign_ops.clients.tags import ALL_CLIENTS, PARTITION_TAG, SWEEP_TAG, range_tags

# metadata key of a check evaluation scoped to one client: that client's id (the alert sensor reads it)
CLIENT_METADATA = "client_id"
# metadata of a sweep's failure (`clients_failed`): the failed clients' ids and names, and how many were tried
FAILED_CLIENTS_METADATA = "failed_clients"
FAILED_CLIENT_NAMES_METADATA = "failed_client_names"
CLIENTS_METADATA = "clients"


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
        tags={**range_tags(keys), SWEEP_TAG: ALL_CLIENTS},
    )


def run_scope_tags(
    partitioned: bool, keys: Sequence[str], client_id: str | None, names: Mapping[str, str]
) -> dict[str, str]:
    """The tags of a run over one client (`client_id`) or all of them (None), `keys` the clients partitions:
    a partitioned job gets the client's partition or the range of all keys, an unpartitioned one (the checks,
    the sweep job) the client's name and id, or nothing (every active client)."""
    named = partition_keys.client_run_tags(client_id, names.get(client_id)) if client_id else {}
    if not partitioned:
        return named
    if client_id:
        return {PARTITION_TAG: partition_keys.key_for_client(keys, client_id, names.get(client_id)), **named}
    return range_tags(keys)


def clients_failed(what: str, failures: Sequence[ClientFailure], total: int) -> dg.Failure:
    """The one failure a sweep raises after every client was tried: each failed client by name, with its error."""
    named = "; ".join(f"{f.client_name or '?'} ({f.client_id}): {f.error}" for f in failures)
    return dg.Failure(
        description=f"{what} failed for {len(failures)} of {total} client(s): {named}",
        metadata={
            FAILED_CLIENTS_METADATA: dg.MetadataValue.json([f.client_id for f in failures]),
            # what the run alert names its scope by: the failed clients, of how many
            FAILED_CLIENT_NAMES_METADATA: dg.MetadataValue.json([f.client_name or f.client_id for f in failures]),
            CLIENTS_METADATA: total,
        },
    )
