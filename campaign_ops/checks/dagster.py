"""Asset checks of the SOP's integrity and health queries, the jobs that run them and when.

Where the checks attach, and why:
- `stuck_leads` on `leads`, `stats_drift` on `campaigns`, `duplicate_de_enrollments` and `de_enrollment_health`
  on `de_enrollment_runs` (the runs and their lead log): partitioned by client like those assets. A one-client
  run records that client's evaluation; a sweep over the clients range records ONE evaluation whose metadata
  carries every client's figures (`clients_with_findings`, JSON) — one run per tick, not one per client.
- `schema_contract` on `database_schema`, an unpartitioned spec for the schema the migrations create: the
  schema is shared by every client, and a check on a partitioned asset would ride along every partitioned run.

When they run (Dagster's own machinery, no side scheduler):
- `integrity_checks_job` (stuck, drift, duplicates): hourly, and after every de-enrollment run for the clients
  that run covered. "After" is a run-status sensor rather than in the de-enrollment run itself: de-enrollment
  records one `AssetMaterialization` per client (so each client's figures stay on its partition), and Dagster
  skips a check step whose asset step yielded no output; yielding outputs as well would record every partition
  twice, the second time without the figures (tested in campaign_ops_tests/checks/test_dagster.py).
- `de_enrollment_health_job`: hourly (issue 8's hourly health-check job).
- `schema_contract_job`: daily.
All use the in-process executor: each run is one or three small steps, and a step subprocess costs more than
the queries.

A check whose query cannot run (database unreachable, statement timeout, missing table) records a failed ERROR
evaluation whose `error` metadata says why — never "passed" — so the history and the alert sensor see it. Bad
input (a one-client run whose partition key is not a client's uuid, thresholds that contradict each other) fails
the step with one clear message instead: that is a mistake in the request, not a finding about the data. In a
sweep, partitions that are not a known client's uuid (a client removed since the partitions were synced) are
skipped, logged and listed in `skipped_partitions`; every other client is still checked.
"""

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
from pydantic import Field
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.assets import CAMPAIGNS, DE_ENROLLMENT_RUNS, LEADS
from campaign_ops.checks.core import (
    DEFAULT_STATEMENT_TIMEOUT_MS,
    CheckOutcome,
    DuplicateThresholds,
    HealthThresholds,
    Level,
    StatsDriftThresholds,
    StuckLeadsThresholds,
    error_reason,
    evaluate_de_enrollment_health,
    evaluate_duplicate_de_enrollments,
    evaluate_schema_contract,
    evaluate_skipped_de_enrollments,
    evaluate_stats_drift,
    evaluate_stuck_leads,
    read_only_snapshot,
    split_known_clients,
)
from campaign_ops.errors import CampaignOpsError, DatabaseUnavailableError
from campaign_ops.partitions import clients_partitions
from campaign_ops.resources import DatabaseResource
from campaign_ops.sweeps import RANGE_END_TAG, RANGE_START_TAG, all_clients_run_request, tick_run_key

DE_ENROLLMENT_JOB_NAME = "de_enrollment_job"
PARTITION_TAG = "dagster/partition"

database_schema_asset = dg.AssetSpec(
    "database_schema",
    group_name="campaign_data",
    description="The tables, views, functions and indexes the migrations create (`campaign-ops db upgrade`); "
    "its check compares the live database with everything `campaign-ops db verify` expects.",
    kinds={"postgres"},
)


# --- configuration (defaults from the SOP's "Monitoring & Health Checks" table) ---------------------------------


class _CheckConfig(dg.Config):
    statement_timeout_ms: int = Field(
        default=DEFAULT_STATEMENT_TIMEOUT_MS, description="A query running longer is cancelled: the check errors."
    )


class SchemaContractConfig(_CheckConfig):
    pass


class StuckLeadsConfig(_CheckConfig):
    warn_above: int = Field(default=100, description="WARN when more stuck leads than this.")
    error_above: int = Field(default=500, description="ERROR when more stuck leads than this.")
    sample_size: int = Field(default=20, description="Stuck leads listed in the metadata table.")

    def thresholds(self) -> StuckLeadsThresholds:
        return StuckLeadsThresholds(self.warn_above, self.error_above, self.sample_size)


class StatsDriftConfig(_CheckConfig):
    warn_above: int = Field(default=5, description="A campaign counter off by more than this is drifted (WARN).")
    error_above: int = Field(default=10, description="ERROR when the largest difference exceeds this.")
    sample_size: int = Field(default=20, description="Worst campaigns listed in the metadata table.")

    def thresholds(self) -> StatsDriftThresholds:
        return StatsDriftThresholds(self.warn_above, self.error_above, self.sample_size)


class DuplicatesConfig(_CheckConfig):
    error_above: int = Field(default=0, description="ERROR when more duplicated enrollments than this.")
    sample_size: int = Field(default=20, description="Duplicates listed in the metadata tables.")

    def thresholds(self) -> DuplicateThresholds:
        return DuplicateThresholds(self.error_above, self.sample_size)


class HealthConfig(_CheckConfig):
    success_rate_warn_below_pct: float = Field(default=95.0, description="WARN below this 24 h success rate.")
    failed_runs_warn_above: int = Field(default=5, description="WARN above this many failed runs in 24 h.")
    hours_since_success_error_above: float = Field(default=2.0, description="ERROR above this many hours.")
    avg_duration_warn_above_ms: int = Field(default=240_000, description="WARN above this average run time.")

    def thresholds(self) -> HealthThresholds:
        return HealthThresholds(
            self.success_rate_warn_below_pct,
            self.failed_runs_warn_above,
            self.hours_since_success_error_above,
            self.avg_duration_warn_above_ms,
        )


# --- evaluation ------------------------------------------------------------------------------------------------


def scope_of(context: dg.AssetCheckExecutionContext) -> list[str] | None:
    """The clients this evaluation covers: the run's partition or partition range; None (every active client)
    when the run is not partitioned (e.g. "Execute" on the check without choosing a partition)."""
    try:
        if context.has_partition_key:
            return [context.partition_key]
        if context.has_partition_key_range:
            return list(context.partition_keys)
    except dg.DagsterInvariantViolationError:  # range tags on a run of an unpartitioned check
        pass
    return None


def _scope_text(scope: Sequence[str] | None, partitioned: bool = True) -> str:
    if not partitioned:
        return "whole database"
    if scope is None:
        return "all active clients"
    return f"client {scope[0]}" if len(scope) == 1 else f"{len(scope)} clients"


def outcome_to_check_result(
    outcome: CheckOutcome,
    scope: Sequence[str] | None,
    extra_metadata: dict[str, Any] | None = None,
    *,
    per_client: bool = True,
) -> dg.AssetCheckResult:
    """Figures as numeric metadata (plotted), tables as markdown, per-client findings as JSON when the
    evaluation covers more than one client."""
    figures, tables = outcome.figures(), outcome.tables()
    assert not set(figures) & set(tables), "a table would hide a figure of the same name"
    metadata: dict[str, Any] = dict(figures)
    metadata.update({name: dg.MetadataValue.md(table) for name, table in tables.items()})
    metadata["scope"] = _scope_text(scope)
    if per_client and (scope is None or len(scope) > 1):
        metadata["clients_with_findings"] = dg.MetadataValue.json(outcome.client_findings())
    metadata.update(extra_metadata or {})
    return dg.AssetCheckResult(
        passed=outcome.level == Level.PASSED,
        severity=dg.AssetCheckSeverity.WARN if outcome.level == Level.WARN else dg.AssetCheckSeverity.ERROR,
        description=outcome.summary,
        metadata=metadata,
    )


def run_check(
    context: dg.AssetCheckExecutionContext,
    database: DatabaseResource,
    statement_timeout_ms: int,
    evaluate: Callable[[Connection, list[str] | None], CheckOutcome],
    *,
    partitioned: bool = True,
) -> dg.AssetCheckResult:
    scope = scope_of(context) if partitioned else None
    skipped: list[str] = []
    try:
        with database.connect() as conn, read_only_snapshot(conn, statement_timeout_ms):
            if scope is not None and len(scope) > 1:
                # a sweep: partitions of clients that no longer exist (or malformed keys) are skipped and named,
                # the others are checked; a one-client run with a bad key is an error instead (below)
                scope, skipped = split_known_clients(conn, scope)
                if skipped:
                    context.log.warning(f"partitions skipped (not a known client's uuid): {', '.join(skipped)}")
            outcome = evaluate(conn, scope) if scope != [] else None
    except (DatabaseUnavailableError, SQLAlchemyError) as exc:
        reason = error_reason(exc)
        context.log.error(f"check could not run ({_scope_text(scope, partitioned)}): {reason}")
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"check could not run: {reason}",
            metadata={"error": reason, "scope": _scope_text(scope, partitioned)},
        )
    except CampaignOpsError as exc:  # bad input: unknown client, malformed partition key, contradictory config
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    if outcome is None:
        raise dg.Failure(description=f"no known client among the partitions: {', '.join(skipped)}")
    log = context.log.warning if outcome.level != Level.PASSED else context.log.info
    log(f"{outcome.name} ({_scope_text(scope, partitioned)}): {outcome.level.value}: {outcome.summary}")
    extra: dict[str, Any] = {"skipped_partitions": dg.MetadataValue.json(skipped)} if skipped else {}
    if not partitioned:
        extra["scope"] = _scope_text(None, partitioned)
    return outcome_to_check_result(outcome, scope, extra, per_client=partitioned)


@dg.asset_check(
    asset=LEADS,
    name="stuck_leads",
    partitions_def=clients_partitions,
    description="Active, not completed leads whose position reached their campaign's sequence length "
    "(SOP 6.2). WARN above 100, ERROR above 500, by default.",
)
def stuck_leads_check(
    context: dg.AssetCheckExecutionContext, config: StuckLeadsConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(
        context, database, config.statement_timeout_ms, lambda c, s: evaluate_stuck_leads(c, s, config.thresholds())
    )


@dg.asset_check(
    asset=CAMPAIGNS,
    name="stats_drift",
    partitions_def=clients_partitions,
    description="Campaigns whose active (both SOP definitions), completed, opted-out or booked counters differ "
    "from their leads by more than 5 (WARN); more than 10 is the SOP's Level 3 (ERROR).",
)
def stats_drift_check(
    context: dg.AssetCheckExecutionContext, config: StatsDriftConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(
        context, database, config.statement_timeout_ms, lambda c, s: evaluate_stats_drift(c, s, config.thresholds())
    )


@dg.asset_check(
    asset=DE_ENROLLMENT_RUNS,
    name="duplicate_de_enrollments",
    partitions_def=clients_partitions,
    description="A lead de-enrolled twice from one enrollment (lead log and archive), or a campaign_history "
    "holding one enrollment twice (SOP Level 3).",
)
def duplicate_de_enrollments_check(
    context: dg.AssetCheckExecutionContext, config: DuplicatesConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(
        context,
        database,
        config.statement_timeout_ms,
        lambda c, s: evaluate_duplicate_de_enrollments(c, s, config.thresholds()),
    )


class SkippedDeEnrollmentsConfig(_CheckConfig):
    sample_size: int = Field(default=20, description="Failing leads listed in the metadata table.")


@dg.asset_check(
    asset=LEADS,
    name="skipped_de_enrollments",
    partitions_def=clients_partitions,
    description="Leads due again although their enrollment was already de-enrolled (live or archived lead log): "
    "left as they are and listed as failing rows until an operator decides (`campaign-ops resolve-skipped`).",
)
def skipped_de_enrollments_check(
    context: dg.AssetCheckExecutionContext, config: SkippedDeEnrollmentsConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(
        context,
        database,
        config.statement_timeout_ms,
        lambda c, s: evaluate_skipped_de_enrollments(c, s, config.sample_size),
    )


@dg.asset_check(
    asset=DE_ENROLLMENT_RUNS,
    name="de_enrollment_health",
    partitions_def=clients_partitions,
    description="Per client over 24 h (de_enrollment_health view): success rate < 95% WARN, failed runs > 5 "
    "WARN, hours since last success > 2 ERROR, average duration > 4 min WARN.",
)
def de_enrollment_health_check(
    context: dg.AssetCheckExecutionContext, config: HealthConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(
        context,
        database,
        config.statement_timeout_ms,
        lambda c, s: evaluate_de_enrollment_health(c, s, config.thresholds()),
    )


@dg.asset_check(
    asset=database_schema_asset.key,
    name="schema_contract",
    description="The live database has every table, column, view, function and index `db verify` expects.",
)
def schema_contract_check(
    context: dg.AssetCheckExecutionContext, config: SchemaContractConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(context, database, config.statement_timeout_ms, evaluate_schema_contract, partitioned=False)


# --- jobs, schedules, sensors ------------------------------------------------------------------------------------

integrity_checks_job = dg.define_asset_job(
    "integrity_checks_job",
    selection=dg.AssetSelection.checks(stuck_leads_check, stats_drift_check, duplicate_de_enrollments_check),
    executor_def=dg.in_process_executor,
    description="Stuck leads, stats drift and duplicate de-enrollments, for one client or a range of clients.",
)
de_enrollment_health_job = dg.define_asset_job(
    "de_enrollment_health_job",
    selection=dg.AssetSelection.checks(de_enrollment_health_check),
    executor_def=dg.in_process_executor,
    description="The SOP's health check per client (the hourly health-check job).",
)
schema_contract_job = dg.define_asset_job(
    "schema_contract_job",
    selection=dg.AssetSelection.checks(schema_contract_check),
    executor_def=dg.in_process_executor,
    description="The live schema against everything `campaign-ops db verify` expects.",
)


# its own job, so the integrity checks' job keeps its shape; the asset_check_alert_sensor alerts on any failed check
skipped_de_enrollments_job = dg.define_asset_job(
    "skipped_de_enrollments_job",
    selection=dg.AssetSelection.checks(skipped_de_enrollments_check),
    executor_def=dg.in_process_executor,
    description="Leads left as they are because their enrollment was already de-enrolled, waiting for a decision.",
)


@dg.schedule(
    job=skipped_de_enrollments_job,
    cron_schedule="7 * * * *",
    name="skipped_de_enrollments_hourly_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: leads skipped as already de-enrolled — one run over all clients.",
)
def skipped_de_enrollments_hourly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return all_clients_run_request(context, run_key_prefix="skipped_de_enrollments")


# off the quarter hours, where the de-enrollment sweep runs, so the two do not compete for the CPU
@dg.schedule(
    job=integrity_checks_job,
    cron_schedule="5 * * * *",
    name="integrity_checks_hourly_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: stuck leads, stats drift, duplicates — one run over all clients.",
)
def integrity_checks_hourly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return all_clients_run_request(context, run_key_prefix="integrity_checks")


@dg.schedule(
    job=de_enrollment_health_job,
    cron_schedule="10 * * * *",
    name="de_enrollment_health_hourly_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: the de-enrollment health check — one run over all clients.",
)
def de_enrollment_health_hourly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return all_clients_run_request(context, run_key_prefix="de_enrollment_health")


@dg.schedule(
    job=schema_contract_job,
    cron_schedule="20 6 * * *",
    name="schema_contract_daily_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day: the live schema against everything `campaign-ops db verify` expects.",
)
def schema_contract_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=tick_run_key(context, "schema_contract"))


def partition_tags_of(run: dg.DagsterRun) -> dict[str, str]:
    """The partition or partition-range tags of a run (empty when it was not partitioned)."""
    if PARTITION_TAG in run.tags:
        return {PARTITION_TAG: run.tags[PARTITION_TAG]}
    if RANGE_START_TAG in run.tags and RANGE_END_TAG in run.tags:
        return {RANGE_START_TAG: run.tags[RANGE_START_TAG], RANGE_END_TAG: run.tags[RANGE_END_TAG]}
    return {}


def integrity_checks_after(run: dg.DagsterRun) -> dg.RunRequest | dg.SkipReason:
    """The integrity checks for the clients a finished de-enrollment run covered."""
    if run.job_name != DE_ENROLLMENT_JOB_NAME:
        return dg.SkipReason(f"run {run.run_id} is of {run.job_name}, not {DE_ENROLLMENT_JOB_NAME}")
    tags = partition_tags_of(run)
    if not tags:
        return dg.SkipReason(f"run {run.run_id} of {DE_ENROLLMENT_JOB_NAME} has no partition tags")
    return dg.RunRequest(
        run_key=f"integrity_checks_after:{run.run_id}",
        tags={**tags, "campaign_ops/after_run": run.run_id},
    )


def _after_de_enrollment_sensor(status: dg.DagsterRunStatus, name: str) -> dg.RunStatusSensorDefinition:
    @dg.run_status_sensor(
        run_status=status,
        name=name,
        request_job=integrity_checks_job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"After each de-enrollment run ends ({status.value}): the integrity checks for its clients.",
    )
    def _sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
        return integrity_checks_after(context.dagster_run)

    return _sensor


# a failed sweep still de-enrolled every other client (issue 8): their checks run too
integrity_checks_after_de_enrollment_sensor = _after_de_enrollment_sensor(
    dg.DagsterRunStatus.SUCCESS, "integrity_checks_after_de_enrollment_sensor"
)
integrity_checks_after_failed_de_enrollment_sensor = _after_de_enrollment_sensor(
    dg.DagsterRunStatus.FAILURE, "integrity_checks_after_failed_de_enrollment_sensor"
)

asset_checks = [
    stuck_leads_check,
    stats_drift_check,
    duplicate_de_enrollments_check,
    de_enrollment_health_check,
    schema_contract_check,
    skipped_de_enrollments_check,
]

defs = dg.Definitions(
    assets=[database_schema_asset],
    asset_checks=asset_checks,
    jobs=[integrity_checks_job, de_enrollment_health_job, schema_contract_job, skipped_de_enrollments_job],
    schedules=[
        integrity_checks_hourly_schedule,
        de_enrollment_health_hourly_schedule,
        schema_contract_daily_schedule,
        skipped_de_enrollments_hourly_schedule,
    ],
    sensors=[integrity_checks_after_de_enrollment_sensor, integrity_checks_after_failed_de_enrollment_sensor],
)
