"""Lifecycle round integrity (the implementation review) as a Dagster asset check, every 15 minutes (in a sensor's
tick, without a run: check_kit/dagster_jobs.py says why)."""

import dagster as dg

from campaign_ops.check_kit.dagster_jobs import check_job, check_sensor
from campaign_ops.check_kit.dagster_result import run_check
from campaign_ops.check_kit.snapshot import DEFAULT_STATEMENT_TIMEOUT_MS
from campaign_ops.lifecycle.core import round_integrity
from campaign_ops.resources import DatabaseResource
from campaign_ops.source_links import code_of

lifecycle_campaign_schedules_asset = dg.AssetSpec(
    "lifecycle_campaign_schedules",
    group_name="lifecycle",
    description="Rounds of lifecycle email campaigns: schedule, status, send time, recipients, notifications.",
    kinds={"postgres"},
    metadata=code_of(round_integrity),
)


@dg.asset_check(
    asset=lifecycle_campaign_schedules_asset.key,
    name="lifecycle_round_integrity",
    description="ERROR when a round was sent before its scheduled time, before the previous round, twice, or had "
    "launch notifications (re)scheduled after it was sent (the implementation review).",
)
def lifecycle_round_integrity_check(
    context: dg.AssetCheckExecutionContext, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(context, database, DEFAULT_STATEMENT_TIMEOUT_MS, lambda conn, _scope: round_integrity(conn))


lifecycle_integrity_job = check_job(
    "lifecycle_integrity_job",
    [lifecycle_round_integrity_check],
    "Lifecycle round integrity (the implementation review).",
)
lifecycle_integrity_sensor = check_sensor(
    lifecycle_integrity_job, [lifecycle_round_integrity_check], 900, "Every 15 minutes: lifecycle round integrity."
)


defs = dg.Definitions(
    assets=[lifecycle_campaign_schedules_asset],
    asset_checks=[lifecycle_round_integrity_check],
    jobs=[lifecycle_integrity_job],
    sensors=[lifecycle_integrity_sensor],
)
