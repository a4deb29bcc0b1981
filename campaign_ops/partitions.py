"""The clients partitions (one per active client, keyed by its uuid) and the sensor that keeps them in sync."""

import dagster as dg

from campaign_ops.clients.core import active_client_ids, partition_changes
from campaign_ops.resources import DatabaseResource

clients_partitions = dg.DynamicPartitionsDefinition(name="clients")


@dg.sensor(
    name="clients_partition_sync_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Keeps the clients partitions equal to the active clients: adds new ones, removes deactivated ones.",
)
def clients_partition_sync_sensor(context: dg.SensorEvaluationContext, database: DatabaseResource) -> dg.SensorResult:
    with database.connect() as conn:
        active = active_client_ids(conn)
    assert clients_partitions.name is not None
    changes = partition_changes(context.instance.get_dynamic_partitions(clients_partitions.name), active)
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if changes.to_add:
        requests.append(clients_partitions.build_add_request(changes.to_add))
    if changes.to_remove:
        requests.append(clients_partitions.build_delete_request(changes.to_remove))
    context.log.info(f"clients partitions: +{len(changes.to_add)} -{len(changes.to_remove)} ({len(active)} active)")
    return dg.SensorResult(dynamic_partitions_requests=requests)
