"""Asset checks of the SOP's integrity and health queries, the jobs that run them and when.

Where the checks attach, and why:
- `stuck_leads` on `leads`, `stats_drift` on `campaigns`, `duplicate_de_enrollments` and `de_enrollment_health`
  on `de_enrollment_runs` (the runs and their lead log). The checks are NOT partitioned, although their assets
  are: a partitioned check evaluated over a range of N clients writes N `asset_check_executions` rows, each
  carrying a planned event that lists all N keys (O(N²): 39 MB per check run at 1,000 clients), the UI cannot
  "Execute" it, and an unpartitioned launch fails. Unpartitioned, one evaluation covers its scope (one row,
  O(clients with findings) bytes), every client with a finding is named in the description, in a table and in
  `clients_with_findings`, and the UI's latest status per check is that evaluation. The scope is every active
  client, or one client given by the `client_id` run config of the check or the `campaign_ops/client` run tag
  (what the after-de-enrollment sensor sets for a one-client de-enrollment run).
- `schema_contract` on `database_schema`, an unpartitioned spec for the schema the migrations create.

When they run (Dagster's own machinery, no side scheduler):
- `integrity_checks_job` (stuck, drift, duplicates): hourly, and after every de-enrollment run for the clients
  that run covered. "After" is a run-status sensor rather than in the de-enrollment run itself: de-enrollment
  records `AssetMaterialization`s per changed client (so each client's figures stay on its partition), and
  Dagster skips a check step whose asset step yielded no output.
- `alerting_checks_job` (stuck leads, de-enrollment health, schema contract): every 5 minutes. These checks are
  the one detector of the SOP's alert lines (no success in 2 h, stuck leads above 100/500) and of the schema
  contract; the asset check alert sensor names their failures STUCK_LEADS, NO_RECENT_SUCCESS, INVARIANT_VIOLATION.
  A run of three small steps over every client writes one evaluation per check.
- `de_enrollment_health_job`, `schema_contract_job`: the same checks alone, for a one-off run.
All use the in-process executor: each run is one or three small steps, and a step subprocess costs more than
the queries.

A check whose query cannot run (database unreachable, statement timeout, missing table) records a failed ERROR
evaluation whose `error` metadata says why — never "passed" — so the history and the alert sensor see it. Bad
input (a one-client scope that is not a known client's uuid, thresholds that contradict each other) fails the
step with one clear message instead: that is a mistake in the request, not a finding about the data.
"""

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dagster as dg
from pydantic import Field
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.alerts.slack import dagster_ui_url
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
    markdown_table,
    read_only_snapshot,
)
from campaign_ops.checks.remedies import FINDINGS_METADATA, THRESHOLDS_METADATA, findings_by_name, guidance
from campaign_ops.clients.partition_keys import (
    CLIENT_ID_TAG,
    client_id_of,
    client_id_or_none,
    client_names,
    client_run_tags,
)
from campaign_ops.due_queue.core import DUE_CLIENTS, SWEEP_TAG
from campaign_ops.errors import CampaignOpsError, DatabaseUnavailableError
from campaign_ops.resources import DatabaseResource
from campaign_ops.sweeps import (
    CLIENT_METADATA,
    CLIENT_TAG,
    PARTITION_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    tick_run_key,
)

DE_ENROLLMENT_JOB_NAME = "de_enrollment_job"
DE_ENROLLMENT_SWEEP_JOB_NAME = "de_enrollment_sweep_job"


database_schema_asset = dg.AssetSpec(
    "database_schema",
    group_name="campaign_data",
    description="The tables, views, functions and indexes the migrations create (`campaign-ops db upgrade`); "
    "its check compares the live database with everything `campaign-ops db verify` expects.",
    kinds={"postgres"},
)


# --- configuration (defaults: the thresholds' own, campaign_ops.thresholds: the SOP's lines written once) --------

_STUCK, _DRIFT = StuckLeadsThresholds(), StatsDriftThresholds()
_DUPLICATES, _HEALTH = DuplicateThresholds(), HealthThresholds()


class _CheckConfig(dg.Config):
    statement_timeout_ms: int = Field(
        default=DEFAULT_STATEMENT_TIMEOUT_MS, description="A query running longer is cancelled: the check errors."
    )
    client_id: str | None = Field(
        default=None,
        description="Check only this client (its id); default: the run's campaign_ops/client tag, else every "
        "active client.",
    )


class SchemaContractConfig(_CheckConfig):
    pass


class StuckLeadsConfig(_CheckConfig):
    warn_above: int = Field(default=_STUCK.warn_above, description="WARN when more stuck leads than this.")
    error_above: int = Field(default=_STUCK.error_above, description="ERROR when more stuck leads than this.")
    sample_size: int = Field(default=_STUCK.sample_size, description="Stuck leads listed in the metadata table.")

    def thresholds(self) -> StuckLeadsThresholds:
        return StuckLeadsThresholds(self.warn_above, self.error_above, self.sample_size)


class StatsDriftConfig(_CheckConfig):
    warn_above: int = Field(
        default=_DRIFT.warn_above, description="A campaign counter off by more than this is drifted (WARN)."
    )
    error_above: int = Field(default=_DRIFT.error_above, description="ERROR when the largest difference exceeds this.")
    sample_size: int = Field(default=_DRIFT.sample_size, description="Worst campaigns listed in the metadata table.")

    def thresholds(self) -> StatsDriftThresholds:
        return StatsDriftThresholds(self.warn_above, self.error_above, self.sample_size)


class DuplicatesConfig(_CheckConfig):
    error_above: int = Field(default=_DUPLICATES.error_above, description="ERROR when more duplicated enrollments.")
    sample_size: int = Field(default=_DUPLICATES.sample_size, description="Duplicates listed in the metadata tables.")

    def thresholds(self) -> DuplicateThresholds:
        return DuplicateThresholds(self.error_above, self.sample_size)


class HealthConfig(_CheckConfig):
    success_rate_warn_below_pct: float = Field(
        default=_HEALTH.success_rate_warn_below_pct, description="WARN below this 24 h success rate."
    )
    failed_runs_warn_above: int = Field(
        default=_HEALTH.failed_runs_warn_above, description="WARN above this many failed runs in 24 h."
    )
    hours_since_success_error_above: float = Field(
        default=_HEALTH.hours_since_success_error_above, description="ERROR above this many hours."
    )
    avg_duration_warn_above_ms: int = Field(
        default=_HEALTH.avg_duration_warn_above_ms, description="WARN above this average run time."
    )

    def thresholds(self) -> HealthThresholds:
        return HealthThresholds(
            self.success_rate_warn_below_pct,
            self.failed_runs_warn_above,
            self.hours_since_success_error_above,
            self.avg_duration_warn_above_ms,
        )


# --- evaluation ------------------------------------------------------------------------------------------------


def scope_of(context: dg.AssetCheckExecutionContext, client_id: str | None) -> list[str] | None:
    """The clients this evaluation covers: the config's client, else the run's client tag, else None (every
    active client: "Execute", "Execute all", the Launchpad and the schedules launch plain runs)."""
    # the id tag first: CLIENT_TAG carries the client's name on runs that client_run_tags labelled
    key = client_id or context.run.tags.get(CLIENT_ID_TAG) or context.run.tags.get(CLIENT_TAG)
    if key is None and PARTITION_TAG in context.run.tags:
        key = context.run.tags[PARTITION_TAG]  # a re-execution of a one-client run of the partitioned checks
    return None if key is None else [client_id_of(key)]


def _scope_text(scope: Sequence[str] | None, partitioned: bool = True, names: Mapping[str, str] | None = None) -> str:
    if not partitioned:
        return "whole database"
    if scope is None:
        return "all active clients"
    name = (names or {}).get(scope[0])
    return f"client {name} ({scope[0]})" if name else f"client {scope[0]}"


def outcome_to_check_result(
    outcome: CheckOutcome,
    scope: Sequence[str] | None,
    extra_metadata: dict[str, Any] | None = None,
    *,
    per_client: bool = True,
    names: Mapping[str, str] | None = None,
) -> dg.AssetCheckResult:
    """Figures as numeric metadata (plotted), tables as markdown; over several clients, every client with a
    finding in `clients_with_findings` (JSON, keyed by name) and `client_findings` (a table), the first ones
    named in the description; a check that did not pass names its clients and what to do. Bytes grow with the
    clients that have findings, never with the square of the clients."""
    figures, tables = outcome.figures(), outcome.tables()
    assert not set(figures) & set(tables), "a table would hide a figure of the same name"
    metadata: dict[str, Any] = dict(figures)
    metadata.update({name: dg.MetadataValue.md(table) for name, table in tables.items()})
    metadata["scope"] = _scope_text(scope, per_client, names)
    lines = getattr(outcome, "thresholds", None)
    if dataclasses.is_dataclass(lines) and not isinstance(lines, type):
        # the lines this evaluation judged by (a run may override the defaults): the alert says the same ones
        metadata[THRESHOLDS_METADATA] = dg.MetadataValue.json(
            {k: v for k, v in dataclasses.asdict(lines).items() if k != "sample_size"}
        )
    description = outcome.summary
    findings = outcome.client_findings() if per_client else {}
    if per_client and scope is not None:
        metadata[CLIENT_METADATA] = dg.MetadataValue.text(scope[0])
    if per_client and scope is None:
        metadata[FINDINGS_METADATA] = dg.MetadataValue.json(findings_by_name(findings, names or {}))
        metadata["clients_with_findings_count"] = len(findings)
        rows = [
            (f.get("level", ""), (names or {}).get(client, "?"), client, _finding_text(f))
            for client, f in sorted(findings.items(), key=lambda kv: (-_rank(kv[1]), (names or {}).get(kv[0], "")))
        ]
        metadata["client_findings"] = dg.MetadataValue.md(markdown_table(("level", "client", "id", "findings"), rows))
    # a check that did not pass says where (the clients by name), what was found there and what to do, whatever
    # its scope: on-call reads this line in the UI and in the alert
    help_ = guidance(outcome.name, findings, names or {}, dagster_ui_url()) if outcome.level != Level.PASSED else None
    if help_ is not None:
        description = f"{description}. {help_.text()}"
        metadata["clients"] = dg.MetadataValue.text(help_.where)
        metadata["to_do"] = dg.MetadataValue.text(help_.todo)
        if help_.link:
            metadata["fix_in_dagster"] = dg.MetadataValue.url(help_.link)
    metadata.update(extra_metadata or {})
    return dg.AssetCheckResult(
        passed=outcome.level == Level.PASSED,
        severity=dg.AssetCheckSeverity.WARN if outcome.level == Level.WARN else dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )


def _rank(finding: dict[str, Any]) -> int:
    level = finding.get("level")
    return Level(level).rank if level in ("passed", "warn", "error") else 0


def _finding_text(finding: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in finding.items() if k != "level"
    )


def run_check(
    context: dg.AssetCheckExecutionContext,
    database: DatabaseResource,
    statement_timeout_ms: int,
    evaluate: Callable[[Connection, list[str] | None], CheckOutcome],
    *,
    partitioned: bool = True,
    client_id: str | None = None,
) -> dg.AssetCheckResult:
    """`partitioned`: the check is per client (a scope applies); False for whole-database checks."""
    names: dict[str, str] = {}
    scope: list[str] | None = None
    try:
        scope = scope_of(context, client_id) if partitioned else None
        with database.connect() as conn, read_only_snapshot(conn, statement_timeout_ms):
            outcome = evaluate(conn, scope)
            if partitioned:
                wanted = scope if scope is not None else list(outcome.client_findings())
                names = client_names(conn, wanted)
    except (DatabaseUnavailableError, SQLAlchemyError) as exc:
        reason = error_reason(exc)
        where = _scope_text(scope, partitioned)
        context.log.error(f"check could not run ({where}): {reason}")
        metadata: dict[str, Any] = {"error": reason, "scope": where}
        if partitioned and scope is not None:
            metadata[CLIENT_METADATA] = dg.MetadataValue.text(scope[0])  # the alert names the client it was for
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"check could not run ({where}): {reason}",
            metadata=metadata,
        )
    except CampaignOpsError as exc:  # bad input: unknown client, malformed client id, contradictory config
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    where = _scope_text(scope, partitioned, names)
    log = context.log.warning if outcome.level != Level.PASSED else context.log.info
    log(f"{outcome.name} ({where}): {outcome.level.value}: {outcome.summary}")
    return outcome_to_check_result(outcome, scope, per_client=partitioned, names=names)


@dg.asset_check(
    asset=LEADS,
    name="stuck_leads",
    description="Active, not completed leads whose position reached their campaign's sequence length "
    f"(SOP 6.2). WARN above {_STUCK.warn_above}, ERROR above {_STUCK.error_above}, by default.",
)
def stuck_leads_check(
    context: dg.AssetCheckExecutionContext, config: StuckLeadsConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(
        context,
        database,
        config.statement_timeout_ms,
        lambda c, s: evaluate_stuck_leads(c, s, config.thresholds()),
        client_id=config.client_id,
    )


@dg.asset_check(
    asset=CAMPAIGNS,
    name="stats_drift",
    description="Campaigns whose active (both SOP definitions), completed, opted-out or booked counters differ "
    f"from their leads by more than {_DRIFT.warn_above} (WARN); more than {_DRIFT.error_above} is the SOP's "
    "Level 3 (ERROR).",
)
def stats_drift_check(
    context: dg.AssetCheckExecutionContext, config: StatsDriftConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(
        context,
        database,
        config.statement_timeout_ms,
        lambda c, s: evaluate_stats_drift(c, s, config.thresholds()),
        client_id=config.client_id,
    )


@dg.asset_check(
    asset=DE_ENROLLMENT_RUNS,
    name="duplicate_de_enrollments",
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
        client_id=config.client_id,
    )


class SkippedDeEnrollmentsConfig(_CheckConfig):
    sample_size: int = Field(default=20, description="Failing leads listed in the metadata table.")


@dg.asset_check(
    asset=LEADS,
    name="skipped_de_enrollments",
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
        client_id=config.client_id,
    )


@dg.asset_check(
    asset=DE_ENROLLMENT_RUNS,
    name="de_enrollment_health",
    description="Per client over 24 h (de_enrollment_health view): success rate "
    f"< {_HEALTH.success_rate_warn_below_pct:g}% WARN, failed runs > {_HEALTH.failed_runs_warn_above} WARN, hours "
    f"since last success > {_HEALTH.hours_since_success_error_above:g} ERROR, average duration "
    f"> {_HEALTH.avg_duration_warn_above_ms / 60000:g} min WARN.",
)
def de_enrollment_health_check(
    context: dg.AssetCheckExecutionContext, config: HealthConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(
        context,
        database,
        config.statement_timeout_ms,
        lambda c, s: evaluate_de_enrollment_health(c, s, config.thresholds()),
        client_id=config.client_id,
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
    description="Stuck leads, stats drift and duplicate de-enrollments: every active client, or one client "
    "(tag campaign_ops/client=<client id>, or the checks' client_id config).",
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


ALERTING_CHECKS_CRON = "2-59/5 * * * *"
alerting_checks_job = dg.define_asset_job(
    "alerting_checks_job",
    selection=dg.AssetSelection.checks(stuck_leads_check, de_enrollment_health_check, schema_contract_check),
    executor_def=dg.in_process_executor,
    description="The checks the SOP's alert lines come from (stuck leads above 100/500, no success in 2 h, the "
    "schema contract), over every client: the asset_check_alert_sensor turns their failures into STUCK_LEADS, "
    "NO_RECENT_SUCCESS and INVARIANT_VIOLATION alerts.",
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
    name="skipped_de_enrollments_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: leads skipped as already de-enrolled — one run over all clients.",
)
def skipped_de_enrollments_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=tick_run_key(context, "skipped_de_enrollments"))


# off the quarter hours, where the de-enrollment sweep runs, so the two do not compete for the CPU
@dg.schedule(
    job=integrity_checks_job,
    cron_schedule="5 * * * *",
    name="integrity_checks_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: stuck leads, stats drift, duplicates — one run over all clients.",
)
def integrity_checks_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=tick_run_key(context, "integrity_checks"))


# every 5 minutes, off the quarter hours (2, 7, 12, ...), where the de-enrollment sweep runs
@dg.schedule(
    job=alerting_checks_job,
    cron_schedule=ALERTING_CHECKS_CRON,
    name="alerting_checks_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 5 minutes: stuck leads, de-enrollment health and the schema contract over every client — "
    "the detectors of the SOP's alert lines (one run, one evaluation per check).",
)
def alerting_checks_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=tick_run_key(context, "alerting_checks"))


def one_client_of(run: dg.DagsterRun) -> str | None:
    """The client a one-client run covered (its partition), None for a run over all clients or a range."""
    if PARTITION_TAG in run.tags:
        return run.tags[PARTITION_TAG]
    start, end = run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)
    return start if start is not None and start == end else None


# what a de-enrollment pass records per client, whichever job ran it (its own job, the sweep job, or
# "Materialize" in the catalog, which runs the implicit __ASSET_JOB): the after-run checks follow these
DE_ENROLLMENT_ASSETS = frozenset({LEADS, CAMPAIGNS, DE_ENROLLMENT_RUNS})


def materialized_de_enrollment_assets(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether the run recorded a materialization of the de-enrollment assets (for any client)."""
    cursor = None
    while True:
        page = instance.get_records_for_run(
            run_id, cursor=cursor, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=500
        )
        for record in page.records:
            event = record.event_log_entry.dagster_event
            if event is not None and event.asset_key in DE_ENROLLMENT_ASSETS:
                return True
        if not page.has_more:
            return False
        cursor = page.cursor


def integrity_checks_after(run: dg.DagsterRun, instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    """The integrity checks for the clients a finished de-enrollment run covered: that one client, or all. A
    run of a de-enrollment job always counts (the sweep job records no materialization by default); any other
    run (a backfill, Materialize in the catalog) counts when it materialized the de-enrollment assets."""
    if run.tags.get(SWEEP_TAG) == DUE_CLIENTS:
        # every few seconds when leads keep becoming due: the hourly run and the 15-minute sweep's cover them
        return dg.SkipReason(f"run {run.run_id} de-enrolled only clients with due leads (checked hourly)")
    if run.job_name not in (DE_ENROLLMENT_JOB_NAME, DE_ENROLLMENT_SWEEP_JOB_NAME) and not (
        materialized_de_enrollment_assets(instance, run.run_id)
    ):
        return dg.SkipReason(f"run {run.run_id} of {run.job_name} materialized no de-enrollment asset")
    tags = {"campaign_ops/after_run": run.run_id}
    client_id = client_id_or_none(one_client_of(run))
    if client_id is not None:
        tags.update(client_run_tags(client_id, run.tags.get(CLIENT_TAG)))
    return dg.RunRequest(run_key=f"integrity_checks_after:{run.run_id}", tags=tags)


def _after_de_enrollment_sensor(status: dg.DagsterRunStatus, name: str) -> dg.RunStatusSensorDefinition:
    @dg.run_status_sensor(
        run_status=status,
        name=name,
        request_job=integrity_checks_job,
        # once a minute like the alert sensor that reads their results: each tick costs ~0.1 CPU-second of the
        # daemon and code server even when no run ended
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"After each run that de-enrolled clients ends ({status.value}), whichever job it was: the "
        "integrity checks for its clients.",
    )
    def _sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
        return integrity_checks_after(context.dagster_run, context.instance)

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
    jobs=[
        integrity_checks_job,
        de_enrollment_health_job,
        schema_contract_job,
        alerting_checks_job,
        skipped_de_enrollments_job,
    ],
    schedules=[integrity_checks_schedule, alerting_checks_schedule, skipped_de_enrollments_schedule],
    sensors=[integrity_checks_after_de_enrollment_sensor, integrity_checks_after_failed_de_enrollment_sensor],
)
