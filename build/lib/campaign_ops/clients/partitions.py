"""The clients partitions (one per active client, keyed `<name slug>--<uuid>`, see clients/partition_keys.py) and
the sensor that keeps them in sync."""

from collections.abc import Mapping

import dagster as dg

from campaign_ops.clients.partition_keys import PartitionChanges, active_clients, partition_changes
from campaign_ops.resources import DatabaseResource

CLIENTS_PARTITIONS = "clients"
clients_partitions = dg.DynamicPartitionsDefinition(name=CLIENTS_PARTITIONS)


def clients_partition_changes(instance: dg.DagsterInstance, active: Mapping[str, str]) -> PartitionChanges:
    """What makes the clients partitions equal to the `active` clients (id → name): the one sync rule."""
    return partition_changes(instance.get_dynamic_partitions(CLIENTS_PARTITIONS), active)


def sync_clients_partitions(instance: dg.DagsterInstance, active: Mapping[str, str]) -> list[str]:
    """The sensor's sync applied at once, in this process (a run started from the command line need not wait
    for the daemon's next tick); returns the clients partition keys afterwards."""
    changes = clients_partition_changes(instance, active)
    if changes.to_add:
        instance.add_dynamic_partitions(CLIENTS_PARTITIONS, changes.to_add)
    for key in changes.to_remove:
        instance.delete_dynamic_partition(CLIENTS_PARTITIONS, key)
    return list(instance.get_dynamic_partitions(CLIENTS_PARTITIONS))


@dg.sensor(
    name="clients_partition_sync_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Keeps the clients partitions equal to the active clients: adds new ones (keyed by name and uuid), "
    "removes deactivated ones; an existing key is never changed (a renamed client keeps it).",
)
def clients_partition_sync_sensor(context: dg.SensorEvaluationContext, database: DatabaseResource) -> dg.SensorResult:
    with database.connect() as conn:
        active = active_clients(conn)
    changes = clients_partition_changes(context.instance, active)
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if changes.to_add:
        requests.append(clients_partitions.build_add_request(changes.to_add))
    if changes.to_remove:
        requests.append(clients_partitions.build_delete_request(changes.to_remove))
    context.log.info(f"clients partitions: +{len(changes.to_add)} -{len(changes.to_remove)} ({len(active)} active)")
    return dg.SensorResult(dynamic_partitions_requests=requests)
