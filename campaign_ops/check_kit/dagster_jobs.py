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

from collections.abc import Collection, Iterator, Sequence

import dagster as dg

from campaign_ops.check_kit.dagster_result import could_not_run
from campaign_ops.clients.runs import tick_run_key
from campaign_ops.dagster_internals import AssetJob, code_location_asset_graph
from campaign_ops.resources import DatabaseResource

JOB_SUFFIX = "_job"
# a sensor's tick has 60 seconds in Dagster (DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS) to answer: the checks of one tick
# share this budget, each under a statement timeout of its share, so a slow query is an ERROR evaluation that says
# so (and alerts) instead of a timed-out tick that records nothing
SENSOR_CHECKS_BUDGET_MS = 40_000
STATEMENT_TIMEOUT_FIELD = "statement_timeout_ms"
CLIENT_ID_FIELD = "client_id"
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
    check: dg.AssetChecksDefinition,
    database: DatabaseResource,
    max_statement_ms: int | None,
    client_id: str | None = None,
) -> dg.AssetCheckEvaluation:
    """`check` evaluated now, in this process, with its default configuration and a statement timeout of at most
    `max_statement_ms` (None: its own): the evaluation a run of its job would record, without the check's step
    (scope: every client, the client `client_id` answered first)."""
    config_type = check.node_def.config_schema.config_type if check.node_def.config_schema else None
    fields = getattr(config_type, "fields", {})
    config: dict[str, object] = {}
    if STATEMENT_TIMEOUT_FIELD in fields and max_statement_ms is not None:
        default = fields[STATEMENT_TIMEOUT_FIELD].default_value
        config[STATEMENT_TIMEOUT_FIELD] = min(int(default), max_statement_ms)
    if client_id is not None and CLIENT_ID_FIELD in fields:
        config[CLIENT_ID_FIELD] = client_id
    # a check taken from a job's definitions comes with the job's database resource bound
    resources = {} if "database" in check.resource_defs else {"database": database}
    context = dg.build_asset_check_context(resources=resources, asset_config=config or None)
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


def asset_checks_evaluated(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    assets: Collection[dg.AssetKey],
    client_id: str | None,
    *,
    materialized: bool,
) -> Iterator[dg.AssetCheckEvaluation]:
    """Every check on `assets`, evaluated by the step that materializes them, when it `materialized` any or its
    run planned their checks: the UI's result of a check is the one for its asset's latest materialization.

    - After a materialization, a check's earlier result is shown as "Not evaluated" until the check runs again
      (hourly for some): evaluated here, it is the check's real result of this run at once.
    - A run launched from the UI on these assets as a backfill (the job's Partitions tab, Materialize in the
      catalog) selects them by asset, and Dagster then plans every check of those assets, whatever the job's own
      selection. A step that records its materializations client by client, and no output (a client that failed
      must get none), makes Dagster skip those check steps: each check would read "Skipped" ("Failed" after a
      failed run). Evaluated here, the planned result becomes a real evaluation of this run.
    Each check's own function and default configuration (every client judged, `client_id` answered first)."""
    planned = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED, limit=1
    ).records
    if not materialized and not planned:
        return
    graph = code_location_asset_graph(context.job_def)
    for key in sorted((k for k in graph.asset_check_keys if k.asset_key in assets), key=lambda k: k.to_user_string()):
        check = graph.assets_def_for_key(key)
        assert isinstance(check, dg.AssetChecksDefinition), key
        evaluation = evaluate_outside_a_run(check, database, None, client_id)
        context.log.info(f"{key.name} (on the assets this run materialized): {_outcome_word(evaluation)}")
        yield evaluation


def checks_evaluated_in_run(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    """The names of the checks a run recorded an evaluation of."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=1000
    ).records
    return {
        data.check_name
        for record in records
        if (event := record.event_log_entry.dagster_event) is not None
        and isinstance(data := event.event_specific_data, dg.AssetCheckEvaluation)
    }
