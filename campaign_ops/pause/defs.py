"""SOP Level 3, "stop processing immediately": the Dagster side of the one switch for everything that writes.

The pause itself is a row in the application database (campaign_ops/pause/core.py,
sql/objects/refuse_while_paused.sql), which the
database enforces on every writer: CLI, Dagster runs, psql. This module adds what only Dagster can do:
- stops every schedule and sensor tagged `campaign_ops/writes` (de-enrollment, stats reconciliation, monthly
  archival, the due sensor) through the instance, as the UI's toggle does, and notes on the pause row which ones
  it stopped: `resume` starts exactly those, so what was off before the pause stays off. Which ones write is
  declared on each of them (`tags=WRITES`), as on the jobs and assets that change lead or campaign data; this
  module reads the set from the definitions, it keeps no list of names;
- the writing assets call `refuse_if_paused` first: a run launched anyway changes nothing, says why and ends
  Canceled (a refusal is not a failure: no alert, no partition painted failed);
- records the state as an observation of the `processing_pause` asset, where the UI shows it;
- lists the writing runs still queued or running, and waits (bounded) until no session writes any more.
Alerting, checks and partition sync keep running — "Stop all" in the UI would silence the alerts too.

In the UI the same two actions are jobs: Jobs → `pause_processing_job` → Launchpad → Launch run (the reason is
its config), and `resume_processing_job`. They write no lead or campaign data, so they run while paused.
"""

import importlib
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import dagster as dg
from pydantic import Field
from sqlalchemy import Connection

from campaign_ops.clients.tags import PARTITION_TAG
from campaign_ops.dagster_internals import switch_instigators
from campaign_ops.errors import ProcessingPaused
from campaign_ops.pause.core import (
    RESUME_HINT,
    Pause,
    WriterWait,
    current_pause,
    record_pause,
    record_resume,
    record_stopped,
    wait_for_writers,
)
from campaign_ops.resources import DatabaseResource
from campaign_ops.source_links import code_of
from campaign_ops.thresholds import PAUSE_WRITERS_WAIT_SECONDS
from campaign_ops.ui_url import CODE_LOCATION, DEFINITIONS_MODULE

# on every job, asset, schedule and sensor that changes lead or campaign data (or launches runs that do)
WRITES_TAG = "campaign_ops/writes"
WRITES = {WRITES_TAG: "true"}
# where operators see it in the UI: Assets → processing_pause, its latest observation (recorded by every pause and
# resume, from the CLI or the UI's jobs) says whether processing is paused, by whom, since when, why, how to resume
PAUSE_ASSET = dg.AssetSpec(
    "processing_pause",
    group_name="maintenance",
    description="Whether processing is paused (SOP Level 3, `campaign-ops pause`): the latest observation names "
    "who paused, since when and why, and both ways to resume (`campaign-ops resume`, or launch "
    "resume_processing_job). Nothing materializes it.",
    metadata=code_of(record_pause),
)
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def refuse_if_paused(context: dg.AssetExecutionContext | dg.OpExecutionContext, database: DatabaseResource) -> None:
    """At the start of every asset or op that writes: while paused, stop before touching anything.

    A refusal is not a failure: the run is marked canceling first, so Dagster ends it CANCELED ("Run was
    canceled"), not FAILURE: no failure alert, no partition painted failed, no after-failure checks, no retry.
    The step's message says who paused, since when, why, and both ways to resume."""
    with database.connect() as conn:
        pause = current_pause(conn)
    if pause is not None:
        _end_canceled(context, pause.refusal())


@contextmanager
def canceled_if_paused(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> Iterator[None]:
    """Around a sweep over clients: a pause committed while it runs stops it at the next client the database
    refuses (ProcessingPaused), and the run ends Canceled with that line, not Failure."""
    try:
        yield
    except ProcessingPaused as exc:
        _end_canceled(context, str(exc))


def _end_canceled(context: dg.AssetExecutionContext | dg.OpExecutionContext, message: str) -> NoReturn:
    # marked canceling first: Dagster then ends the run CANCELED when the step fails ("Run was canceled")
    context.instance.report_run_canceling(context.run, message=message)
    raise dg.Failure(description=message, allow_retries=False)


@dataclass(frozen=True)
class Writing:
    """What writes, read from the definitions (each declares it: `tags=WRITES`)."""

    jobs: frozenset[str]
    assets: frozenset[dg.AssetKey]
    automations: frozenset[str]
    """the schedules and sensors a pause stops"""


def writing(repository: dg.RepositoryDefinition | None = None) -> Writing:
    """The jobs, assets, schedules and sensors of the code location (default: the one loaded in this process)
    tagged campaign_ops/writes."""
    if repository is None:
        repository = importlib.import_module(DEFINITIONS_MODULE).defs.get_repository_def()
    graph = repository.asset_graph
    return Writing(
        frozenset(j.name for j in repository.get_all_jobs() if j.tags.get(WRITES_TAG)),
        frozenset(k for k in graph.get_all_asset_keys() if graph.get(k).tags.get(WRITES_TAG)),
        frozenset(a.name for a in [*repository.schedule_defs, *repository.sensor_defs] if a.tags.get(WRITES_TAG)),
    )


def writing_runs_in_flight(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Queued or running runs that write: of a writing job, or of the catalog's asset job over writing assets."""
    writes = writing()
    records = instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT), limit=500)
    return [
        r.dagster_run
        for r in records
        if r.dagster_run.job_name in writes.jobs or set(r.dagster_run.asset_selection or ()) & writes.assets
    ]


@dataclass(frozen=True)
class Switched:
    kind: str  # "schedule" or "sensor"
    name: str
    was_running: bool


def switch_automations(
    instance: dg.DagsterInstance, *, running: bool, names: Collection[str] | None = None
) -> list[Switched]:
    """Stop (running=False) or start every schedule and sensor tagged campaign_ops/writes, or only those named
    (as the UI's toggle does: the state the daemon reads)."""
    wanted = writing().automations if names is None else names
    switched = switch_instigators(instance, DEFINITIONS_MODULE, CODE_LOCATION, wanted, running=running)
    return [Switched(kind, name, was) for kind, name, was in switched]


def switch_writing_automations(instance: dg.DagsterInstance, *, running: bool) -> list[Switched]:
    return switch_automations(instance, running=running)


@dataclass(frozen=True)
class PauseReport:
    """What a pause or resume did, for the CLI to print and the UI's job to log."""

    pause: Pause | None  # the pause now in force (pause), or the one lifted (resume)
    new: bool = True  # pause: False when one was in force already
    switched: list[Switched] = field(default_factory=list)
    in_flight: list[dg.DagsterRun] = field(default_factory=list)
    writers: WriterWait | None = None

    def lines(self, *, paused: bool) -> list[str]:
        out = []
        for s in self.switched:
            if paused:
                out.append(f"{s.kind} {s.name}: {'stopped' if s.was_running else 'already stopped'}")
            else:
                out.append(f"{s.kind} {s.name}: {'already running' if s.was_running else 'started'}")
        if paused:
            assert self.pause is not None
            if not self.new:
                out.append(f"already {self.pause.line()}")
            out.append(
                f"{self.pause.line()}; every write of lead or campaign data is refused (CLI, Dagster runs, psql) "
                "until `campaign-ops resume` or resume_processing_job"
            )
            if self.writers is not None:
                if self.writers.still_writing:
                    out.append(
                        f"{len(self.writers.still_writing)} session(s) still writing after "
                        f"{self.writers.waited_ms} ms (they stop at their next chunk):"
                    )
                    out.extend(f"  {w.line()}" for w in self.writers.still_writing)
                else:
                    out.append(f"no session writes any more (waited {self.writers.waited_ms} ms)")
            if self.in_flight:
                out.append(f"{len(self.in_flight)} writing run(s) still in flight (each stops at its next chunk):")
                out.extend(
                    f"  {r.run_id} {r.job_name} {r.status.value} {r.tags.get(PARTITION_TAG, '')}"
                    for r in self.in_flight
                )
            else:
                out.append("no writing run in flight")
        elif self.pause is not None:
            kept = "; the schedules and sensors that were off before it stay off" if not self.switched else ""
            out.append(f"resumed ({self.pause.line()}){kept}")
        else:
            out.append("was not paused; nothing changed")
        return out


def report_pause_state(instance: dg.DagsterInstance, pause: Pause | None, *, resumed_by: str = "") -> None:
    """The observation of `processing_pause` that the UI shows: paused (who, since, why, how to resume) or not."""
    if pause is not None and not resumed_by:
        description = f"PAUSED: {pause.line()}. {RESUME_HINT}"
        metadata: dict[str, Any] = {
            "state": "paused",
            "paused_by": pause.by,
            "since": pause.at.isoformat(timespec="seconds"),
            "reason": pause.reason,
            "resume": "`campaign-ops resume`, or Jobs → resume_processing_job → Launch run",
        }
    else:
        description = "running: processing is not paused" + (f" (resumed by {resumed_by})" if resumed_by else "")
        metadata = {"state": "running"}
    instance.report_runless_asset_event(
        dg.AssetObservation(asset_key=PAUSE_ASSET.key, description=description, metadata=metadata)
    )


def pause_processing(
    conn: Connection, instance: dg.DagsterInstance | None, *, by: str, reason: str, wait_s: float | None = None
) -> PauseReport:
    """SOP Level 3: record the pause (writes are refused from its commit on), stop the writing schedules and
    sensors (noting which), list the writing runs in flight, wait until no session writes any more.

    Without an instance (unreachable), the pause is recorded and the caller says that the schedules were not
    stopped."""
    pause, new = record_pause(conn, by=by, reason=reason)
    switched: list[Switched] = []
    in_flight: list[dg.DagsterRun] = []
    if instance is not None:
        switched = switch_writing_automations(instance, running=False)
        record_stopped(conn, pause, [s.name for s in switched if s.was_running])
        in_flight = writing_runs_in_flight(instance)
        report_pause_state(instance, pause)
    writers = wait_for_writers(conn, timeout_s=PAUSE_WRITERS_WAIT_SECONDS if wait_s is None else wait_s)
    return PauseReport(current_pause(conn) or pause, new, switched, in_flight, writers)


def resume_processing(conn: Connection, instance: dg.DagsterInstance, *, by: str) -> PauseReport:
    """Lift the pause and start again exactly the schedules and sensors it stopped."""
    lifted = record_resume(conn, by=by)
    report_pause_state(instance, lifted, resumed_by=by if lifted else "")
    if lifted is None or not lifted.stopped:
        return PauseReport(lifted, switched=[])
    return PauseReport(lifted, switched=switch_automations(instance, running=True, names=set(lifted.stopped)))


# --- the same two actions as jobs, for the UI -------------------------------------------------------------------


class PauseConfig(dg.Config):
    reason: str = Field(default="", description="Why (shown to whoever finds a run refused).")


@dg.op(name="pause_processing", description="SOP Level 3: stop everything that writes lead or campaign data.")
def pause_processing_op(context: dg.OpExecutionContext, config: PauseConfig, database: DatabaseResource) -> None:
    with database.connect() as conn:
        report = pause_processing(
            conn, context.instance, by=f"the Dagster UI (run {context.run_id[:8]})", reason=config.reason
        )
    for line in report.lines(paused=True):
        context.log.info(line)


@dg.op(name="resume_processing", description="Lift the pause: writes allowed, what the pause stopped starts.")
def resume_processing_op(context: dg.OpExecutionContext, database: DatabaseResource) -> None:
    with database.connect() as conn:
        report = resume_processing(conn, context.instance, by=f"the Dagster UI (run {context.run_id[:8]})")
    for line in report.lines(paused=False):
        context.log.info(line)


@dg.job(
    name="pause_processing_job",
    executor_def=dg.in_process_executor,
    description="Stop processing immediately (SOP Level 3): records the pause in the application database (every "
    "write of lead or campaign data is refused from then on, whoever writes), stops the schedules and sensors "
    "tagged campaign_ops/writes and waits until no session writes; alerts and checks keep running. "
    "Same as `campaign-ops pause`.",
)
def pause_processing_job() -> None:
    pause_processing_op()


@dg.job(
    name="resume_processing_job",
    executor_def=dg.in_process_executor,
    description="Undo pause_processing_job: writes are allowed again and the schedules and sensors the pause "
    "stopped start (those that were off before it stay off). "
    "Same as `campaign-ops resume`.",
)
def resume_processing_job() -> None:
    resume_processing_op()


defs = dg.Definitions(assets=[PAUSE_ASSET], jobs=[pause_processing_job, resume_processing_job])
