"""A check's job, and its schedule or its sensor, one shape for every check in the project.

A check job runs only its checks, in process: each run is one to three small steps, and a step subprocess costs
more than the queries. What evaluates the checks on a cadence is named after the job (`<x>_job`), on from the start:
- a check schedule (`<x>_schedule`) asks one run per tick; the run key names the tick, so a tick evaluated twice
  launches once. For the hourly checks, whose queries may take a minute at 10,000 clients.
- a check sensor (`<x>_sensor`) evaluates the checks inside its own tick and records their evaluations without a
  run. For the checks every 5 and 15 minutes: a run costs a run worker's start (a new interpreter importing
  Dagster and the code location, ~1.2–2.5 CPU-seconds) for queries of a fraction of a second, and those runs were
  most of the idle service's CPU. Each evaluation is the one a run would record (same function, default
  configuration), so the UI's check history, the alert sensor and "Execute" (a run of the job) see the same thing.
"""

from collections.abc import Sequence

import dagster as dg

from campaign_ops.check_kit.dagster_result import could_not_run
from campaign_ops.clients.runs import tick_run_key
from campaign_ops.dagster_internals import AssetJob
from campaign_ops.resources import DatabaseResource

JOB_SUFFIX = "_job"
# a sensor's tick has 60 seconds in Dagster (DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS) to answer: the checks of one tick
# share this budget, each under a statement timeout of its share, so a slow query is an ERROR evaluation that says
# so (and alerts) instead of a timed-out tick that records nothing
SENSOR_CHECKS_BUDGET_MS = 40_000
STATEMENT_TIMEOUT_FIELD = "statement_timeout_ms"
# on every check sensor (the UI can filter by it; the retention bench finds them by it)
CHECK_SENSOR_TAG = "campaign_ops/evaluates_checks"


def check_job(name: str, checks: Sequence[dg.AssetChecksDefinition], description: str) -> AssetJob:
    """The job that runs exactly `checks`, in process."""
    return dg.define_asset_job(
        name,
        selection=dg.AssetSelection.checks(*checks),
        executor_def=dg.in_process_executor,
        description=description,
    )


def _stem(job: AssetJob) -> str:
    if not job.name.endswith(JOB_SUFFIX):
        raise ValueError(f"a check job's name ends in {JOB_SUFFIX}: {job.name}")
    return job.name.removesuffix(JOB_SUFFIX)


def check_schedule(
    job: AssetJob,
    cron: str,
    description: str | None = None,
    *,
    run_key_prefix: str | None = None,
) -> dg.ScheduleDefinition:
    """`job` on `cron`, running by default; the run key is `<run_key_prefix>:<tick>`, the prefix defaulting
    to the job's name without `_job`."""
    stem = _stem(job)
    prefix = run_key_prefix or stem

    @dg.schedule(
        job=job,
        cron_schedule=cron,
        name=f"{stem}_schedule",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_key=tick_run_key(context, prefix))

    return _schedule


def evaluate_outside_a_run(
    check: dg.AssetChecksDefinition, database: DatabaseResource, max_statement_ms: int
) -> dg.AssetCheckEvaluation:
    """`check` evaluated now, in this process, with its default configuration and a statement timeout of at most
    `max_statement_ms`: the evaluation a run of its job would record, without the run (scope: every client)."""
    config_type = check.node_def.config_schema.config_type if check.node_def.config_schema else None
    fields = getattr(config_type, "fields", {})
    config = None
    if STATEMENT_TIMEOUT_FIELD in fields:
        default = fields[STATEMENT_TIMEOUT_FIELD].default_value
        config = {STATEMENT_TIMEOUT_FIELD: min(int(default), max_statement_ms)}
    context = dg.build_asset_check_context(resources={"database": database}, asset_config=config)
    try:
        result = check(context)
    except Exception as exc:  # even a check that raised is an evaluation: the alert sensor must see it
        result = could_not_run(context, exc)
    assert isinstance(result, dg.AssetCheckResult), f"{check.check_key.name} returned {type(result).__name__}"
    return dg.AssetCheckEvaluation(
        asset_key=check.check_key.asset_key,
        check_name=check.check_key.name,
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata=result.metadata,
    )


def _outcome_word(evaluation: dg.AssetCheckEvaluation) -> str:
    return "passed" if evaluation.passed else f"failed ({evaluation.severity.value})"


def check_sensor(
    job: AssetJob,
    checks: Sequence[dg.AssetChecksDefinition],
    every_seconds: int,
    description: str,
) -> dg.SensorDefinition:
    """A sensor, running by default, that evaluates `checks` (the ones `job` runs) every `every_seconds` inside
    its tick and records one evaluation per check, with no run."""
    share_ms = SENSOR_CHECKS_BUDGET_MS // len(checks)

    @dg.sensor(
        name=f"{_stem(job)}_sensor",
        minimum_interval_seconds=every_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"{description} Evaluated in the sensor's tick, without a run; {job.name} runs the same "
        "checks on demand (Execute).",
        tags={CHECK_SENSOR_TAG: job.name},
    )
    def _sensor(context: dg.SensorEvaluationContext, database: DatabaseResource) -> dg.SensorResult:
        evaluations = [evaluate_outside_a_run(c, database, share_ms) for c in checks]
        # Dagster marks a tick that launched no run "skipped": its reason says what the tick recorded
        said = ", ".join(f"{e.check_name} {_outcome_word(e)}" for e in evaluations)
        return dg.SensorResult(asset_events=evaluations, skip_reason=f"evaluated without a run: {said}")

    return _sensor
