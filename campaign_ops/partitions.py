"""The clients partitions (one per active client, keyed `<name slug>--<uuid>`, see clients/partition_keys.py) and
the sensor that keeps them in sync."""

import dagster as dg

from campaign_ops.clients.partition_keys import active_clients, partition_changes
from campaign_ops.resources import DatabaseResource

clients_partitions = dg.DynamicPartitionsDefinition(name="clients")


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
    assert clients_partitions.name is not None
    changes = partition_changes(context.instance.get_dynamic_partitions(clients_partitions.name), active)
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if changes.to_add:
        requests.append(clients_partitions.build_add_request(changes.to_add))
    if changes.to_remove:
        requests.append(clients_partitions.build_delete_request(changes.to_remove))
    context.log.info(f"clients partitions: +{len(changes.to_add)} -{len(changes.to_remove)} ({len(active)} active)")
    return dg.SensorResult(dynamic_partitions_requests=requests)
