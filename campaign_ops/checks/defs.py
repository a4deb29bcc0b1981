"""Asset checks of the SOP's integrity and health queries, the jobs that run them and when.

Where the checks attach, and why:
- `stuck_leads` on `leads`, `stats_drift` on `campaigns`, `duplicate_de_enrollments` and `de_enrollment_health`
  on `de_enrollment_runs` (the runs and their lead log). The checks are NOT partitioned, although their assets
  are: a partitioned check evaluated over a range of N clients writes N `asset_check_executions` rows, each
  carrying a planned event that lists all N keys (O(N²): 39 MB per check run at 1,000 clients), the UI cannot
  "Execute" it, and an unpartitioned launch fails. Unpartitioned, one evaluation covers its scope (one row,
  O(clients with findings) bytes), every client with a finding is named in the description, in a table and in
  `clients_with_findings`, and the UI's latest status per check is that evaluation. Every evaluation judges every
  active client: a client given by the `client_id` run config of the check or the `campaign_ops/client` run tag
  (what the after-de-enrollment sensor sets for a one-client de-enrollment run) is answered first, but an
  evaluation of that client alone would become the check's status for everyone (check_kit/dagster_result.py).
- `schema_contract` on `database_schema`, an unpartitioned spec for the schema the migrations create.

When they run (Dagster's own machinery, no side scheduler):
- `integrity_checks_job` (stuck, drift, duplicates): hourly, and after every de-enrollment run that de-enrolled
  leads, for the clients that run covered. A run that materialized client partitions (a one-client run, a
  backfill, Materialize) evaluates every check of its assets itself, in its de-enrollment step
  (check_kit's `asset_checks_evaluated`: the UI shows a check's result for its asset's latest materialization,
  and Dagster would skip the check steps it plans in UI launches, the step yielding materializations per client
  and no output); a sweep (it materializes only clients' first passes) is followed by a
  run-status sensor's run.
- the alerting checks (stuck leads, de-enrollment health, schema contract, stuck onboarding clients): every 5
  minutes, evaluated by `alerting_checks_sensor` in its tick, one evaluation per check and no run (a run worker's
  start, ~1.2–2.5 CPU-seconds, would cost more than the four queries); `alerting_checks_job` runs the same checks
  on demand. These checks are the one detector of the SOP's alert lines (no success in 2 h, stuck leads above
  100/500), of the schema contract and of the hardening report's stuck onboarding clients; the asset check alert
  sensor names their failures STUCK_LEADS, NO_RECENT_SUCCESS, INVARIANT_VIOLATION, PAYMENT_BLOCK, STUCK_CLIENT.
- `de_enrollment_health_job`, `schema_contract_job`: the same checks alone, for a one-off run.
All are check jobs, schedules and sensors of check_kit/dagster_jobs.py (in process, on from the start).

A check whose query cannot run (database unreachable, statement timeout, missing table) records a failed ERROR
evaluation whose `error` metadata says why — never "passed" — so the history and the alert sensor see it. Bad
input (a one-client scope that is not a known client's uuid, thresholds that contradict each other) fails the
step with one clear message instead: that is a mistake in the request, not a finding about the data.
"""

import dagster as dg
from pydantic import Field

from campaign_ops.assets import CAMPAIGNS, DE_ENROLLMENT_ASSETS, DE_ENROLLMENT_RUNS, LEADS
from campaign_ops.check_kit.dagster_jobs import check_job, check_schedule, check_sensor, checks_evaluated_in_run
from campaign_ops.check_kit.dagster_result import run_check
from campaign_ops.check_kit.remedies import remedy
from campaign_ops.check_kit.snapshot import DEFAULT_STATEMENT_TIMEOUT_MS
from campaign_ops.checks.core import (
    DuplicateThresholds,
    HealthThresholds,
    StatsDriftThresholds,
    StuckLeadsThresholds,
    evaluate_duplicate_de_enrollments,
    evaluate_schema_contract,
    evaluate_skipped_de_enrollments,
    evaluate_stats_drift,
    evaluate_stuck_leads,
)
from campaign_ops.checks.health import evaluate_de_enrollment_health
from campaign_ops.clients.partition_keys import client_id_or_none, client_run_tags
from campaign_ops.clients.tags import CLIENT_TAG, PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG, SWEEP_TAG
from campaign_ops.de_enrollment.defs import LEADS_DE_ENROLLED, SWEEP_JOB_NAME, de_enrollment_job
from campaign_ops.de_enrollment.due import DUE_CLIENTS
from campaign_ops.onboarding.defs import stuck_onboarding_clients_check
from campaign_ops.reconciliation.defs import stats_reconciliation_job
from campaign_ops.resources import DatabaseResource
from campaign_ops.source_links import code_of

database_schema_asset = dg.AssetSpec(
    "database_schema",
    group_name="campaign_data",
    description="The tables, views, functions and indexes the migrations create (`campaign-ops db upgrade`); "
    "its check compares the live database with everything `campaign-ops db verify` expects.",
    kinds={"postgres"},
    metadata=code_of(evaluate_schema_contract),
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
        description="Answer for this client first (its id); default: the run's campaign_ops/client tag. Every "
        "active client is judged either way (the check's status is everyone's).",
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


# --- the checks ----------------------------------------------------------------------------------------------


@dg.asset_check(
    asset=LEADS,
    name="stuck_leads",
    description="Active, not completed leads whose position reached their campaign's sequence length "
    f"(SOP 6.2). WARN above {_STUCK.warn_above}, ERROR above {_STUCK.error_above}, by default.",
    metadata=remedy(
        "de-enroll the client's finished leads now", 'campaign-ops de-enroll --client "{name}"', de_enrollment_job
    ),
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
    metadata=remedy(
        "reconcile the campaign counters", 'campaign-ops reconcile --client "{name}"', stats_reconciliation_job
    ),
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
    metadata=remedy(
        "SOP Level 3: stop processing (`campaign-ops pause`), then investigate the duplicates listed",
        "campaign-ops pause",
    ),
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
    metadata=remedy(
        "read the client's failed de-enrollment runs, fix the cause, then de-enroll it again",
        'campaign-ops health-check --client "{name}"',
        de_enrollment_job,
    ),
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

INTEGRITY_CHECKS = [stuck_leads_check, stats_drift_check, duplicate_de_enrollments_check]
INTEGRITY_CHECK_NAMES = frozenset(c.check_key.name for c in INTEGRITY_CHECKS)
integrity_checks_job = check_job(
    "integrity_checks_job",
    INTEGRITY_CHECKS,
    "Stuck leads, stats drift and duplicate de-enrollments: every active client, or one client "
    "(tag campaign_ops/client=<client id>, or the checks' client_id config).",
)
de_enrollment_health_job = check_job(
    "de_enrollment_health_job",
    [de_enrollment_health_check],
    "The SOP's health check per client (the hourly health-check job).",
)
schema_contract_job = check_job(
    "schema_contract_job",
    [schema_contract_check],
    "The live schema against everything `campaign-ops db verify` expects.",
)
ALERTING_CHECKS = [stuck_leads_check, de_enrollment_health_check, schema_contract_check, stuck_onboarding_clients_check]
alerting_checks_job = check_job(
    "alerting_checks_job",
    ALERTING_CHECKS,
    "The checks the SOP's alert lines come from (stuck leads above 100/500, no success in 2 h, the "
    "schema contract, stuck onboarding clients), over every client: the asset_check_alert_sensor turns their "
    "failures into STUCK_LEADS, NO_RECENT_SUCCESS, INVARIANT_VIOLATION, PAYMENT_BLOCK and STUCK_CLIENT alerts.",
)
# its own job, so the integrity checks' job keeps its shape; the asset_check_alert_sensor alerts on any failed check
skipped_de_enrollments_job = check_job(
    "skipped_de_enrollments_job",
    [skipped_de_enrollments_check],
    "Leads left as they are because their enrollment was already de-enrolled, waiting for a decision.",
)

skipped_de_enrollments_schedule = check_schedule(
    skipped_de_enrollments_job,
    "7 * * * *",
    "Every hour: leads skipped as already de-enrolled — one run over all clients.",
)
# off the quarter hours, where the de-enrollment sweep runs, so the two do not compete for the CPU
integrity_checks_schedule = check_schedule(
    integrity_checks_job,
    "5 * * * *",
    "Every hour: stuck leads, stats drift, duplicates — one run over all clients.",
)
# every 5 minutes, in the sensor's tick: twelve run workers an hour would cost more than the four queries
alerting_checks_sensor = check_sensor(
    alerting_checks_job,
    ALERTING_CHECKS,
    300,
    "Every 5 minutes: stuck leads, de-enrollment health, the schema contract and stuck onboarding clients over "
    "every client — the detectors of the SOP's alert lines (one evaluation per check).",
)


def one_client_of(run: dg.DagsterRun) -> str | None:
    """The client a one-client run covered (its partition), None for a run over all clients or a range."""
    if PARTITION_TAG in run.tags:
        return run.tags[PARTITION_TAG]
    start, end = run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)
    return start if start is not None and start == end else None


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


def leads_de_enrolled_by_sweep(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The leads a sweep run de-enrolled, from its op's output figures; None when it recorded none (it stopped
    before its output: what it changed is unknown)."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_OUTPUT, limit=10).records:
        event = record.event_log_entry.dagster_event
        figure = (getattr(event.event_specific_data, "metadata", None) or {}).get(LEADS_DE_ENROLLED) if event else None
        if figure is not None:
            return int(getattr(figure, "value", figure))
    return None


def integrity_checks_after(run: dg.DagsterRun, instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    """The integrity checks for the clients a finished de-enrollment run covered: that one client, or all. A
    run of a de-enrollment job counts unless it was a due run or a sweep that de-enrolled no lead, either of them
    materializing nothing (a due run every few seconds, most quarter hours' sweep when the due sensor keeps up);
    any other run (a backfill, Materialize in the catalog) counts when it materialized the de-enrollment assets.
    A run that materialized a client's first pass is always checked: the UI reads "Not evaluated" until then."""
    if run.tags.get(SWEEP_TAG) == DUE_CLIENTS and not materialized_de_enrollment_assets(instance, run.run_id):
        # every few seconds when leads keep becoming due: the hourly run and the 15-minute sweep's cover them
        return dg.SkipReason(f"run {run.run_id} de-enrolled only clients with due leads (checked hourly)")
    if (
        run.job_name == SWEEP_JOB_NAME
        and leads_de_enrolled_by_sweep(instance, run.run_id) == 0
        and not materialized_de_enrollment_assets(instance, run.run_id)
    ):
        # it changed no lead and no counter: nothing new for stuck leads, drift or duplicates (checked hourly)
        return dg.SkipReason(f"run {run.run_id} de-enrolled no lead (checked hourly)")
    if run.job_name not in (de_enrollment_job.name, SWEEP_JOB_NAME) and not (
        materialized_de_enrollment_assets(instance, run.run_id)
    ):
        return dg.SkipReason(f"run {run.run_id} of {run.job_name} materialized no de-enrollment asset")
    if checks_evaluated_in_run(instance, run.run_id) >= INTEGRITY_CHECK_NAMES:
        # a run launched from the UI on the assets planned their checks and evaluated them itself
        return dg.SkipReason(f"run {run.run_id} evaluated the integrity checks itself")
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
    def _sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | None:
        # Dagster ends a run-status sensor's tick at the first run its function answers for (a RunRequest or a
        # SkipReason alike), so a SkipReason per run that de-enrolled nothing (the 5-minute checks, the due
        # sensor's runs, ...) would cost a tick each and the checks after a sweep would fall behind the runs
        # that end; None passes over the run within the same tick, and the reason goes to the tick's log
        decision = integrity_checks_after(context.dagster_run, context.instance)
        if isinstance(decision, dg.SkipReason):
            context.log.info(decision.skip_message)
            return None
        return decision

    return _sensor


# a failed sweep still de-enrolled every other client: their checks run too
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
    schedules=[integrity_checks_schedule, skipped_de_enrollments_schedule],
    sensors=[
        alerting_checks_sensor,
        integrity_checks_after_de_enrollment_sensor,
        integrity_checks_after_failed_de_enrollment_sensor,
    ],
)
