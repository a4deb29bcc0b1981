"""Dagster objects shared by every capability: the database resource and the clients partitions sensor."""

import dagster as dg

from campaign_ops.clients.partitions import clients_partition_sync_sensor
from campaign_ops.resources import DatabaseResource

defs = dg.Definitions(
    sensors=[clients_partition_sync_sensor],
    resources={"database": DatabaseResource(url=dg.EnvVar("DATABASE_URL"))},
)
