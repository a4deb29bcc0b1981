"""The campaign-ops code location: assembles each capability's Dagster objects, nothing more."""

import dagster as dg

from campaign_ops.partitions import clients_partition_sync_sensor
from campaign_ops.resources import DatabaseResource

defs = dg.Definitions(
    sensors=[clients_partition_sync_sensor],
    resources={"database": DatabaseResource(url=dg.EnvVar("DATABASE_URL"))},
)
