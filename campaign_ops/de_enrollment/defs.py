"""De-enrollment in Dagster: one multi-asset over the clients partitions and its job (one client, backfills),
and the scheduled sweep over all clients as a plain (unpartitioned) job.

Why the sweep is not a range run of the multi-asset: such a run writes 3 planned + 3 materialization events
per client whatever happened (event-log rows in proportion to the clients) and its cost followed the clients, not
the work. `de_enrollment_sweep_job` is one op over every active client; its output carries the
figures of every client that changed or had a problem (a table and JSON: bytes grow with the work). It materializes
the partitions (3 events each, the client's figures) of the clients it processed whose partition has no
materialization: their first pass, and again after run retention deleted the run that recorded it. So "Missing" in
the UI means "never processed", not "processed only by sweeps", and the sweep's events follow the clients that are
new, once each. Not the clients whose leads it de-enrolled: the UI shows a check's result for its asset's latest
materialization, so every due run (seconds apart at operating rates) would turn the integrity checks "Not evaluated"
until their next run. A partition's materialization therefore says when its client was first processed (or last
run on its own); every later pass is a `de_enrollment_runs` row (the SOP's health queries read them) and a line of
its run's output. One-client runs and backfills of `de_enrollment_job` materialize their partitions, and evaluate
the checks in the run.

Why a client-partitioned multi-asset with `BackfillPolicy.single_run()` (and not an op job): a run then covers one
client (a backfill, "Materialize" in the UI, `dg launch --partition`) or all of them (the schedule's partition
range) at the cost of ONE run, and every client partition gets its own materialization with its own figures — the
UI shows per client when it was last de-enrolled and how it went. Each client is materialized as soon as its pass
is committed; a client that failed gets none, and the run fails only after every client was tried.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import dagster as dg
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.assets import (
    CAMPAIGNS,
    DE_ENROLLMENT_ASSETS,
    DE_ENROLLMENT_RUNS,
    LEADS,
    campaigns_asset,
    de_enrollment_runs_asset,
    leads_asset,
)
from campaign_ops.check_kit.dagster_jobs import asset_checks_evaluated
from campaign_ops.check_kit.markdown import UI_TABLE_ROWS, first_rows, markdown_table
from campaign_ops.clients.partition_keys import CLIENT_TAG, client_names, client_run_tags, keys_by_client_id
from campaign_ops.clients.partitions import clients_partitions
from campaign_ops.clients.runs import clients_failed, tick_run_key
from campaign_ops.clients.scope import active_client_ids, partition_scope
from campaign_ops.clients.sweep import ClientFailure
from campaign_ops.clients.tags import ALL_CLIENTS, OUTCOME_TAGS, SWEEP_TAG, names_tag_value
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.due import LatencyFigures, LatencyReport, database_now, latency, settle
from campaign_ops.de_enrollment.runs import STATUS_ORDER, ClientResult, SweepResult, describe
from campaign_ops.de_enrollment.settings import DEFAULT_MAX_RUNTIME_MS, DeEnrollmentSettings
from campaign_ops.errors import CampaignOpsError, DatabaseUnavailableError
from campaign_ops.pause.defs import WRITES, refuse_if_paused
from campaign_ops.resources import DatabaseResource
from campaign_ops.source_links import code_of

SWEEP_JOB_NAME = "de_enrollment_sweep_job"
# the sweep job's one op: run config that scopes a sweep (`ops: de_enrollment_sweep: config:`) names it
SWEEP_OP_NAME = "de_enrollment_sweep"
# the figure a pass's materializations and the sweep's output carry: what the after-run checks look at
LEADS_DE_ENROLLED = "leads_de_enrolled"


def max_runtime_seconds(budget_ms: int, clients: int) -> int:
    """Run monitoring's limit for a run: the budget, plus a minute for start-up, plus the bookkeeping that the
    budget does not bound: recording every client's pass, and the materializations written after the passes. A
    sweep of every client's first pass writes 3 Dagster events per client, each its
    own commits in the instance database and the largest part of that bookkeeping (BENCHMARKS.md): a second per
    20 clients covers it with margin."""
    return budget_ms // 1000 + 60 + -(-clients // 20)


class SweepConfig(dg.Config):
    """Run config of the all-clients sweep; unset values come from DE_ENROLLMENT_* environment variables."""

    batch_size: int | None = Field(default=None, description="Leads per transaction on the SOP's batched path (100).")
    max_runtime_ms: int | None = Field(default=None, description="Budget of the whole run in ms (240000).")
    chunk_size: int | None = Field(default=None, description="Leads per transaction on the set-based path (50000).")
    mode: Literal["set_based", "batched"] = Field(default="set_based", description="set_based, or the SOP's batches.")
    client_ids: list[str] | None = Field(
        default=None,
        description="Only these clients (ids; those not active are left out), as de_enrollment_due_sensor asks "
        "for the clients with due leads. Default: every active client.",
    )


class DeEnrollmentConfig(dg.Config):
    """Run config; unset values come from DE_ENROLLMENT_* environment variables, then the SOP's defaults."""

    batch_size: int | None = Field(default=None, description="Leads per transaction on the SOP's batched path (100).")
    max_runtime_ms: int | None = Field(default=None, description="Budget of the whole run in ms (240000).")
    chunk_size: int | None = Field(default=None, description="Leads per transaction on the set-based path (50000).")
    mode: Literal["set_based", "batched"] = Field(default="set_based", description="set_based, or the SOP's batches.")


# the figures each asset's materialization shows: all of them once (on leads, what the pass changed), the other
# two only what concerns them, so the run page does not list the same figures three times per client
_CAMPAIGNS_FIGURES = ("status", "client", LEADS_DE_ENROLLED, "completed", "opted_out", "booked")
_RUNS_FIGURES = ("status", "client", "de_enrollment_run_id", "duration_ms")


def _materializations(r: ClientResult, partition: str) -> list[dg.AssetMaterialization]:
    """The client's three materializations: the full figures on leads, the relevant few on the other two."""
    figures = _client_metadata(r)
    return [
        dg.AssetMaterialization(asset_key=LEADS, partition=partition, metadata=figures),
        dg.AssetMaterialization(
            asset_key=CAMPAIGNS, partition=partition, metadata={k: figures[k] for k in _CAMPAIGNS_FIGURES}
        ),
        dg.AssetMaterialization(
            asset_key=DE_ENROLLMENT_RUNS, partition=partition, metadata={k: figures[k] for k in _RUNS_FIGURES}
        ),
    ]


def _client_metadata(r: ClientResult) -> dict[str, dg.MetadataValue]:
    return {
        "status": dg.MetadataValue.text(r.status),
        "client": dg.MetadataValue.text(r.client_name),
        "leads_evaluated": dg.MetadataValue.int(r.leads_evaluated),
        LEADS_DE_ENROLLED: dg.MetadataValue.int(r.leads_de_enrolled),
        "completed": dg.MetadataValue.int(r.completed),
        "opted_out": dg.MetadataValue.int(r.opted_out),
        "booked": dg.MetadataValue.int(r.booked),
        "leads_skipped": dg.MetadataValue.int(r.leads_skipped),
        "duration_ms": dg.MetadataValue.int(r.duration_ms),
        "de_enrollment_run_id": dg.MetadataValue.text(r.run_row_id or ""),
        **({"details": dg.MetadataValue.text(r.error_details)} if r.error_details else {}),
    }


@dg.multi_asset(
    name="de_enrollment",
    specs=[leads_asset, campaigns_asset, de_enrollment_runs_asset],
    partitions_def=clients_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=False,
    description="De-enrolls leads that completed their sequence, opted out or booked, per client (SOP).",
)
def de_enrollment(context: dg.AssetExecutionContext, config: DeEnrollmentConfig, database: DatabaseResource):
    refuse_if_paused(context, database)
    settings = _settings(config)
    keys = list(context.partition_keys)
    key_of = keys_by_client_id(keys)
    # an operator's one-client run: an unknown, inactive or malformed client is an error, before any work; a sweep
    # over the partition range skips partitions of clients deactivated since the last sync
    try:
        with database.connect() as conn:
            client_ids, warnings = partition_scope(conn, keys)
    except CampaignOpsError as exc:
        raise dg.Failure(description=str(exc)) from None
    for warning in warnings:
        context.log.warning(warning)

    if len(keys) == 1 and CLIENT_TAG not in context.run.tags:
        # a one-client run started in the UI carries only its partition key: its client's name, from the start
        with database.connect() as conn:
            names = client_names(conn, client_ids)
        context.instance.add_run_tags(context.run.run_id, client_run_tags(client_ids[0], names.get(client_ids[0])))
    sweep = _sweep(context, database, settings, client_ids)
    done = [r for r in sweep.clients if r.status in ("success", "partial")]
    for r in done:
        yield from _materializations(r, key_of[r.client_id])
    # the checks of what it materialized, in the run: the UI shows a check's result for the latest one
    one_client = client_ids[0] if len(client_ids) == 1 else None
    yield from asset_checks_evaluated(context, database, DE_ENROLLMENT_ASSETS, one_client, materialized=bool(done))
    _fail_if_any_failed(sweep)


def _settings(config: DeEnrollmentConfig | SweepConfig) -> DeEnrollmentSettings:
    try:
        return DeEnrollmentSettings.from_env(
            batch_size=config.batch_size,
            max_runtime_ms=config.max_runtime_ms,
            chunk_size=config.chunk_size,
            mode=config.mode,
        )
    except CampaignOpsError as exc:
        raise dg.Failure(description=f"invalid de-enrollment configuration: {exc}") from None


def _sweep(
    context: dg.OpExecutionContext | dg.AssetExecutionContext,
    database: DatabaseResource,
    settings: DeEnrollmentSettings,
    client_ids: list[str],
    *,
    per_client_lines: bool = True,
) -> SweepResult:
    context.log.info(
        f"de-enrolling {len(client_ids)} client(s), mode {settings.mode}, budget {settings.max_runtime_ms} ms"
    )
    sweep = de_enroll_clients(
        database.engine,
        client_ids,
        settings,
        dagster_run_id=context.run.run_id,
        # each Dagster log line is one event-log write: a sweep's per-client lines go to the worker's own log
        log_line=context.log.info if per_client_lines else None,
    )
    skipped = sweep.with_status("skipped")
    partial = sweep.with_status("partial")
    context.log.info(
        f"de-enrollment done in {sweep.duration_ms} ms: {sweep.leads_de_enrolled} leads de-enrolled, "
        f"{len(sweep.with_status('success'))} clients succeeded, {len(partial)} partial, {len(skipped)} skipped, "
        f"{len(sweep.failed)} failed"
    )
    if sweep.connection_lost:
        context.log.error(sweep.connection_lost)
    if sweep.paused:  # stopped on purpose: what committed is recorded, the rest waits for resume
        context.log.warning(sweep.paused)
    for r in sweep.locked_out:  # the next run takes them: another session held their lock to the end
        context.log.warning(f"due leads left undone: {describe(r)}")
    # which clients it did not finish, by name, where the Runs list shows them (before a failure is raised)
    by_status: dict[str, list[str]] = {}
    for r in sweep.clients:
        by_status.setdefault(r.status, []).append(r.client_name or r.client_id)
    outcome = {tag: names_tag_value(by_status[status]) for status, tag in OUTCOME_TAGS.items() if status in by_status}
    if outcome:
        context.instance.add_run_tags(context.run.run_id, outcome)
    return sweep


def _fail_if_any_failed(sweep: SweepResult) -> None:
    """After what was done is recorded: one failure naming a lost connection, or every failed client."""
    if sweep.connection_lost:  # the sweep stopped there: one line naming it, not one failure per client
        raise dg.Failure(description=sweep.connection_lost)
    if sweep.failed:
        failures = [
            ClientFailure(r.client_id, r.client_name, r.error_details or "", r.duration_ms) for r in sweep.failed
        ]
        raise clients_failed("de-enrollment", failures, len(sweep.clients))


# every run that de-enrolls carries these, whichever way it was started (run_tags.py adds them to "Materialize"
# runs of the implicit asset job)
DE_ENROLLMENT_RUN_TAGS = {
    # run monitoring ends a run whose worker died: the budget plus a minute for start-up and bookkeeping
    # (the default budget; a run with another budget gets its own tag from whoever launches it)
    dg.MAX_RUNTIME_SECONDS_TAG: str(max_runtime_seconds(DEFAULT_MAX_RUNTIME_MS, 1)),
    # idempotent (a second pass changes nothing): the daemon re-runs a run that was cut short
    "dagster/max_retries": "2",
    **WRITES,
}

de_enrollment_job = dg.define_asset_job(
    "de_enrollment_job",
    # the integrity checks run right after, in their own run (checks/defs.py explains why): without_checks
    # keeps this job from listing check steps it would only skip
    selection=dg.AssetSelection.assets(de_enrollment).without_checks(),
    # one step (plus its checks): the in-process executor saves a subprocess per run (a third of run overhead)
    executor_def=dg.in_process_executor,
    description="De-enroll leads: every 15 minutes for all clients in one run, or one client as a backfill.",
    tags=DE_ENROLLMENT_RUN_TAGS,
)


@dg.op(
    name=SWEEP_OP_NAME,
    description="De-enrolls every active client's due leads (SOP); materializes, with their figures, the "
    "partitions of the clients it processed for the first time.",
)
def de_enrollment_sweep(
    context: dg.OpExecutionContext, config: SweepConfig, database: DatabaseResource
) -> Iterator[dg.AssetMaterialization | dg.Output[None]]:
    refuse_if_paused(context, database)
    settings = _settings(config)
    with database.connect() as conn:
        client_ids = active_client_ids(conn)
    if config.client_ids is not None:
        wanted = set(config.client_ids)
        client_ids = [c for c in client_ids if c in wanted]
        context.log.info(f"scope: {len(client_ids)} of {len(wanted)} client(s) asked for (others: not active)")
    since = start_time(database)
    sweep = _sweep(context, database, settings, client_ids, per_client_lines=False)
    # the due-lead queue of the clients covered: latency per lead into the lead log, and the run's figures
    after = settle_after_pass(
        database,
        None if config.client_ids is None else client_ids,
        context.run.run_id,
        since,
        context.log.warning,
        {r.client_id: r.client_name for r in sweep.clients},
    )
    if after.materialization is not None:
        yield after.materialization
    done = [r for r in sweep.clients if r.status in ("success", "partial")]
    changed = [r for r in done if r.leads_de_enrolled]
    for r, key in _partitions_to_materialize(context.instance, done):
        yield from _materializations(r, key)
    noteworthy = sorted(
        (r for r in sweep.clients if r.leads_de_enrolled or r.status != "success" or r.leads_skipped),
        key=lambda r: (STATUS_ORDER.get(r.status, 0), -r.leads_de_enrolled, r.client_name),
    )
    rows = [
        (r.status, r.client_name, r.client_id, r.leads_de_enrolled, r.leads_evaluated, r.duration_ms, r.error_details)
        for r in noteworthy
    ]
    headers = ("status", "client", "id", "de-enrolled", "evaluated", "ms", "details")
    yield dg.Output(
        None,
        metadata={
            "clients": len(sweep.clients),
            "clients_changed": len(changed),
            LEADS_DE_ENROLLED: sweep.leads_de_enrolled,
            "clients_partial": len(sweep.with_status("partial")),
            "clients_skipped": len(sweep.with_status("skipped")),
            "clients_failed": len(sweep.failed),
            "duration_ms": sweep.duration_ms,
            "clients_with_changes_or_problems": dg.MetadataValue.md(
                first_rows(markdown_table(headers, rows), UI_TABLE_ROWS, ": every client is in `client_figures`")
            ),
            "client_figures": dg.MetadataValue.json(
                {r.client_id: {k: v.value for k, v in _client_metadata(r).items()} for r in noteworthy}
            ),
            **after.metadata,
        },
    )
    _fail_if_any_failed(sweep)


def _partitions_to_materialize(
    instance: dg.DagsterInstance, done: list[ClientResult]
) -> list[tuple[ClientResult, str]]:
    """The clients a sweep materializes, with their partition keys: those whose partition has no materialization
    (their first pass, or its run was pruned). A client activated since the last partition sync has no partition
    yet: the pass after the sync materializes it."""
    if not done:
        return []
    assert clients_partitions.name is not None
    key_of = keys_by_client_id(instance.get_dynamic_partitions(clients_partitions.name))
    # the three assets are materialized together: leads stands for them
    materialized = instance.get_materialized_partitions(LEADS)
    return [(r, key_of[r.client_id]) for r in done if r.client_id in key_of and key_of[r.client_id] not in materialized]


@dg.job(
    name=SWEEP_JOB_NAME,
    executor_def=dg.in_process_executor,
    description="De-enroll leads of every active client in one run (the 15-minute schedule); one client: "
    "de_enrollment_job with a partition.",
    tags={
        dg.MAX_RUNTIME_SECONDS_TAG: str(max_runtime_seconds(DEFAULT_MAX_RUNTIME_MS, 1_000)),
        "dagster/max_retries": "2",
        **WRITES,
    },
)
def de_enrollment_sweep_job() -> None:
    de_enrollment_sweep()


@dg.schedule(
    name="de_enrollment_sweep_schedule",
    cron_schedule="*/15 * * * *",
    job=de_enrollment_sweep_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags=WRITES,  # `campaign-ops pause` (SOP Level 3) stops it
    description="Every 15 minutes (SOP): one run over all active clients.",
)
def de_enrollment_sweep_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The run's max runtime follows the configured budget and the number of clients, read at tick time."""
    settings = DeEnrollmentSettings.from_env()
    assert clients_partitions.name is not None
    clients = len(context.instance.get_dynamic_partitions(clients_partitions.name))
    return dg.RunRequest(
        run_key=tick_run_key(context, "de_enrollment"),
        tags={
            dg.MAX_RUNTIME_SECONDS_TAG: str(max_runtime_seconds(settings.max_runtime_ms, clients)),
            SWEEP_TAG: ALL_CLIENTS,
        },
    )


# --- due -> de-enrolled latency, recorded by the sweep run -------------------------------------------------------

de_enrollment_latency_asset = dg.AssetSpec(
    "de_enrollment_latency",
    group_name="campaign_data",
    description="Seconds from a lead becoming due (opted out, booked, last message) to its de-enrollment, per "
    "lead in the lead log (due_since); each de-enrollment run that settled some records the figures (overall as "
    "plotted numbers, per client as a table and JSON, and each client's p95 as its own plotted number "
    "`latency_p95_s · <client> · <id prefix>`, present in the runs that de-enrolled some of its leads).",
    kinds={"postgres"},
    metadata=code_of(latency),
)


def client_p95_key(client_id: str, name: str) -> str:
    """The metadata key of one client's p95: the same key in every run, so the UI plots it as the client's series
    (named for people, with the id's first 8 characters in case two clients share a name)."""
    return f"latency_p95_s · {name} · {client_id[:8]}"


def figures_metadata(figures: LatencyFigures, prefix: str = "latency_") -> dict[str, Any]:
    return {
        f"{prefix}leads": figures.leads,
        f"{prefix}p50_s": round(figures.p50, 2),
        f"{prefix}p95_s": round(figures.p95, 2),
        f"{prefix}p99_s": round(figures.p99, 2),
        f"{prefix}max_s": round(figures.max, 2),
    }


def report_metadata(report: LatencyReport, names: dict[str, str] | None = None) -> dict[str, Any]:
    """Overall figures as numbers (the UI plots them), every client's in JSON, the slowest in a table, and each
    client's p95 as a number of its own (plotted per client). One materialization whatever the clients: its keys
    are those of the clients this run de-enrolled leads of, none for quiet clients, and no event per client."""
    if report.overall is None:
        return {}
    names = names or {}
    slowest = sorted(report.per_client.items(), key=lambda kv: -kv[1].p95)
    rows = [
        (names.get(c, "?"), c, f.leads, round(f.p50, 1), round(f.p95, 1), round(f.max, 1))
        for c, f in slowest[:UI_TABLE_ROWS]
    ]
    return {
        **figures_metadata(report.overall),
        "latency_clients": len(report.per_client),
        "latency_per_client": dg.MetadataValue.json(
            {c: {"leads": f.leads, "p50_s": f.p50, "p95_s": f.p95, "max_s": f.max} for c, f in slowest}
        ),
        "latency_slowest_clients": dg.MetadataValue.md(
            markdown_table(("client", "id", "leads", "p50 s", "p95 s", "max s"), rows)
        ),
        **{client_p95_key(c, names.get(c, "?")): round(f.p95, 2) for c, f in sorted(report.per_client.items())},
    }


@dataclass(frozen=True)
class AfterPass:
    # for the run's output: the settled count and the overall figures (empty when nothing was settled); the
    # per-client figures are on the materialization only, so a sweep at 1,000 clients stores them once
    metadata: dict[str, Any]
    materialization: dg.AssetMaterialization | None


def start_time(database: DatabaseResource) -> datetime:
    """The database's now() before the passes: the run's de-enrollments are processed after it."""
    with database.connect() as conn:
        return database_now(conn)


def settle_after_pass(
    database: DatabaseResource,
    client_ids: Sequence[str] | None,
    dagster_run_id: str,
    since: datetime,
    warn: Callable[[str], None],
    names: dict[str, str] | None = None,
) -> AfterPass:
    """Settle the queue for the clients a run covered (None: every client), then its latency figures. Never
    fails the run: what is not settled now is settled by the next pass (and the queue keeps every due lead)."""
    try:
        with database.connect() as conn:
            with conn.begin():
                settled = settle(conn, client_ids)
            report = latency(conn, since, dagster_run_id)
    except (DatabaseUnavailableError, SQLAlchemyError) as exc:
        warn(f"due-lead queue not settled this time (the next pass settles it): {str(exc).splitlines()[0]}")
        return AfterPass({}, None)
    settled_count = {"due_queue_settled": settled.settled}
    if report.overall is None:  # nothing de-enrolled: nothing to plot
        return AfterPass(settled_count, None)
    materialization = dg.AssetMaterialization(
        asset_key=de_enrollment_latency_asset.key, metadata={**settled_count, **report_metadata(report, names)}
    )
    return AfterPass({**settled_count, **figures_metadata(report.overall)}, materialization)


defs = dg.Definitions(
    assets=[de_enrollment],
    jobs=[de_enrollment_job, de_enrollment_sweep_job],
    schedules=[de_enrollment_sweep_schedule],
)
