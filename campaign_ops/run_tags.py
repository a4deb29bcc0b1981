"""The same run tags on every run of an asset, however a person started it.

The jobs carry their tags (`de_enrollment_job`: `dagster/max_runtime`, `dagster/max_retries`). But "Materialize"
on an asset in the catalog runs Dagster's implicit `__ASSET_JOB`, and open-source Dagster 1.13 has no hook that
sets run tags when a run is created from the UI (asset tags are not copied to run tags; an open feature request
upstream, dagster-io/dagster#33430). The closest honest thing: `run_tags_sensor` (every 30 s) gives each queued
or running run that materializes one of these assets the owning job's tags it lacks (a tag the person set in
the launch dialog is kept), and each one-client run the client's name (`campaign_ops/client`, so the Runs list
finds it by name; a one-client de-enrollment run also sets it itself when it starts). Run monitoring and run
retries read a run's tags when they act (at its maximum runtime, which the daemon checks once a minute; after a
run was cut short, the only failures retried), so tags added in a run's first 30 s apply to it. The gap, stated:
a run that ends within 30 s of being queued, before the sensor's next tick, keeps the tags it was created with.
Every 30 s rather than 5: each tick costs the daemon and the code server ~0.1 CPU-second whatever it finds, and
this sensor's ticks were a fifth of the idle service's CPU.

The executor and the after-run checks need no sensor: the code location's default executor is the in-process
one (definitions.py), so `__ASSET_JOB` runs like the jobs do, and the checks follow the materializations
(checks/defs.py), not the job name.
"""

from collections.abc import Mapping, Sequence

import dagster as dg

from campaign_ops.assets import DE_ENROLLMENT_ASSETS
from campaign_ops.clients.partition_keys import client_id_or_none, client_names, client_run_tags
from campaign_ops.clients.tags import CLIENT_TAG, PARTITION_TAG
from campaign_ops.de_enrollment.defs import DE_ENROLLMENT_RUN_TAGS
from campaign_ops.pause.defs import IN_FLIGHT
from campaign_ops.reconciliation.defs import RECONCILIATION_RUN_TAGS, campaign_stats_reconciliation_asset
from campaign_ops.resources import DatabaseResource

# a run's maximum runtime is minutes away and run monitoring looks once a minute: the tag is there in time
RUN_TAGS_INTERVAL_SECONDS = 30

# (the assets, the tags every run materializing one of them must carry)
ASSET_RUN_TAGS: Sequence[tuple[frozenset[dg.AssetKey], Mapping[str, str]]] = [
    (DE_ENROLLMENT_ASSETS, DE_ENROLLMENT_RUN_TAGS),
    (frozenset({campaign_stats_reconciliation_asset.key}), RECONCILIATION_RUN_TAGS),
]


def missing_asset_tags(run: dg.DagsterRun) -> dict[str, str]:
    """The owning jobs' tags this run's assets call for and the run lacks (its own values are kept)."""
    selected = set(run.asset_selection or ())
    missing: dict[str, str] = {}
    for keys, tags in ASSET_RUN_TAGS:
        if selected & keys:
            missing.update({k: v for k, v in tags.items() if k not in run.tags and k not in missing})
    return missing


def tags_to_add(runs: Sequence[dg.DagsterRun], names: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """run id → the tags to add: the owning jobs' tags, and the client's name on a one-client run."""
    out: dict[str, dict[str, str]] = {}
    for run in runs:
        tags = missing_asset_tags(run)
        client_id = client_id_or_none(run.tags.get(PARTITION_TAG))
        if client_id and CLIENT_TAG not in run.tags:
            tags.update(client_run_tags(client_id, names.get(client_id)))
        if tags:
            out[run.run_id] = tags
    return out


@dg.sensor(
    name="run_tags_sensor",
    minimum_interval_seconds=RUN_TAGS_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Gives runs started from the catalog (Materialize) the tags of the job that owns their assets "
    "(maximum runtime, retries), and one-client runs the client's name tag.",
)
def run_tags_sensor(context: dg.SensorEvaluationContext, database: DatabaseResource) -> dg.SkipReason:
    records = context.instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT), limit=200)
    runs = [r.dagster_run for r in records]
    wanted = {c for r in runs if CLIENT_TAG not in r.tags and (c := client_id_or_none(r.tags.get(PARTITION_TAG)))}
    names: Mapping[str, str] = {}
    if wanted:
        with database.connect() as conn:
            names = client_names(conn, sorted(wanted))
    additions = tags_to_add(runs, names)
    for run_id, tags in additions.items():
        context.instance.add_run_tags(run_id, tags)
        context.log.info(f"run {run_id}: added {', '.join(f'{k}={v}' for k, v in sorted(tags.items()))}")
    return dg.SkipReason(f"tagged {len(additions)} of {len(runs)} run(s) in flight")


defs = dg.Definitions(sensors=[run_tags_sensor])
