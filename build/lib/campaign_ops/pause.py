"""SOP Level 3, "stop processing immediately": one switch for everything that writes lead or campaign data.

What writes is marked in the definitions: schedules and sensors tagged `campaign_ops/writes` (de-enrollment,
stats reconciliation, monthly archival), and the assets that change the data call `refuse_if_paused` first.
Alerting, checks and partition sync keep running — "Stop all" in the UI would silence the alerts too.

`campaign-ops pause`:
- stops every tagged schedule and sensor through the instance (as the UI's toggle does: the state is the
  instance's, so the daemon and the UI see it at once);
- sets the pause flag in the instance's key-value store, which the writing assets read at their start: a manual
  run of a writing job (Materialize, a backfill, `campaign-ops run-job`, a retry) fails at once, changing
  nothing, with one line saying why and how to resume;
- lists the writing runs still queued or running (a pause does not kill them; terminate them in the UI when
  the SOP says so).
`campaign-ops resume` clears the flag and starts the same schedules and sensors again.

In the UI the same two actions are jobs: Jobs → `pause_processing_job` → Launchpad → Launch run (the reason is
its config), and `resume_processing_job`. They write no lead or campaign data, so they run while paused.

The flag lives in the Dagster instance rather than the app database: it governs Dagster runs, needs no
migration, and the same instance is what the UI and the daemon read.
"""

import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from pydantic import Field

from campaign_ops.clients.tags import PARTITION_TAG
from campaign_ops.ui_url import CODE_LOCATION, DEFINITIONS_MODULE

WRITES_TAG = "campaign_ops/writes"
WRITES = {WRITES_TAG: "true"}
PAUSE_KEY = "campaign_ops/paused"
# the jobs whose assets change lead or campaign data (their assets call refuse_if_paused)
WRITING_JOBS = ("de_enrollment_job", "de_enrollment_sweep_job", "stats_reconciliation_job", "monthly_archival_job")
WRITING_ASSETS = frozenset(
    {
        dg.AssetKey("leads"),
        dg.AssetKey("campaigns"),
        dg.AssetKey("de_enrollment_runs"),
        dg.AssetKey("campaign_stats_reconciliation"),
        dg.AssetKey("monitoring_archives"),
    }
)
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dataclass(frozen=True)
class PauseState:
    by: str
    at: str
    reason: str

    def line(self) -> str:
        return f"paused by {self.by} at {self.at}" + (f": {self.reason}" if self.reason else "")


def pause_state(instance: dg.DagsterInstance) -> PauseState | None:
    """The pause in force, or None."""
    raw = instance.run_storage.get_cursor_values({PAUSE_KEY}).get(PAUSE_KEY)
    if not raw:
        return None
    data = json.loads(raw)
    return PauseState(str(data.get("by", "?")), str(data.get("at", "?")), str(data.get("reason", "")))


def set_pause(instance: dg.DagsterInstance, *, by: str, at: datetime, reason: str = "") -> PauseState:
    state = PauseState(by, at.isoformat(timespec="seconds"), reason)
    instance.run_storage.set_cursor_values({PAUSE_KEY: json.dumps(state.__dict__)})
    return state


def clear_pause(instance: dg.DagsterInstance) -> None:
    instance.run_storage.set_cursor_values({PAUSE_KEY: ""})


def refuse_if_paused(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> None:
    """At the start of every asset or op that writes: while paused, fail before touching anything (no retry)."""
    state = pause_state(context.instance)
    if state is not None:
        raise dg.Failure(
            description=f"processing is paused ({state.line()}); nothing was changed. "
            "Resume with `campaign-ops resume`, or in the UI launch resume_processing_job.",
            allow_retries=False,
        )


def writing_runs_in_flight(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Queued or running runs that write: of a writing job, or of the catalog's asset job over writing assets."""
    records = instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT), limit=500)
    return [
        r.dagster_run
        for r in records
        if r.dagster_run.job_name in WRITING_JOBS or set(r.dagster_run.asset_selection or ()) & WRITING_ASSETS
    ]


@dataclass(frozen=True)
class Switched:
    kind: str  # "schedule" or "sensor"
    name: str
    was_running: bool


@contextmanager
def _repository(instance: dg.DagsterInstance) -> Iterator[Any]:
    """The code location loaded in this process, as the daemon and UI see it (same location and repository
    name, so the same selector ids: the instigator state they read is the one written here)."""
    from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.remote_representation.code_location import InProcessCodeLocation
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name=DEFINITIONS_MODULE), location_name=CODE_LOCATION
    )
    with InProcessCodeLocation(origin, instance=instance) as location:
        yield location.get_repository(SINGLETON_REPOSITORY_NAME)


def _instigators(repository: Any, names: Collection[str] | None) -> Sequence[Any]:
    """The writing schedules and sensors (tagged campaign_ops/writes), or those named."""

    def wanted(inst: Any) -> bool:
        return bool(inst.tags.get(WRITES_TAG)) if names is None else inst.name in names

    return [*filter(wanted, repository.get_schedules()), *filter(wanted, repository.get_sensors())]


def _is_running(instance: dg.DagsterInstance, instigator: Any) -> bool:
    state = instigator.get_current_instigator_state(
        instance.get_instigator_state(instigator.get_remote_origin_id(), instigator.selector_id)
    )
    return state.is_running


def switch_automations(
    instance: dg.DagsterInstance, *, running: bool, names: Collection[str] | None = None
) -> list[Switched]:
    """Stop (running=False) or start every schedule and sensor tagged campaign_ops/writes, or only those named
    (as the UI's toggle does: the state the daemon reads)."""
    from dagster._core.remote_representation.external import RemoteSchedule

    out: list[Switched] = []
    with _repository(instance) as repository:
        for inst in _instigators(repository, names):
            is_schedule = isinstance(inst, RemoteSchedule)
            was = _is_running(instance, inst)
            if running and not was:
                (instance.start_schedule if is_schedule else instance.start_sensor)(inst)
            elif not running and was:
                origin_id, selector_id = inst.get_remote_origin_id(), inst.selector_id
                if is_schedule:
                    instance.stop_schedule(origin_id, selector_id, inst)
                else:
                    instance.stop_sensor(origin_id, selector_id, inst)
            out.append(Switched("schedule" if is_schedule else "sensor", inst.name, was))
    return out


def switch_writing_automations(instance: dg.DagsterInstance, *, running: bool) -> list[Switched]:
    """Stop (running=False) or start every schedule and sensor tagged campaign_ops/writes."""
    return switch_automations(instance, running=running)


@dataclass(frozen=True)
class PauseReport:
    """What a pause or resume did, for the CLI to print and the UI's job to log."""

    state: PauseState | None  # the pause now in force (pause), or the one lifted (resume)
    switched: list[Switched]
    in_flight: list[dg.DagsterRun]

    def lines(self, *, paused: bool) -> list[str]:
        out = []
        for s in self.switched:
            if paused:
                out.append(f"{s.kind} {s.name}: {'stopped' if s.was_running else 'already stopped'}")
            else:
                out.append(f"{s.kind} {s.name}: {'already running' if s.was_running else 'started'}")
        if paused:
            assert self.state is not None
            out.append(f"{self.state.line()}; new runs of writing jobs are refused until `campaign-ops resume`")
            if self.in_flight:
                out.append(f"{len(self.in_flight)} writing run(s) still in flight (a pause does not end them):")
                out.extend(
                    f"  {r.run_id} {r.job_name} {r.status.value} {r.tags.get(PARTITION_TAG, '')}"
                    for r in self.in_flight
                )
            else:
                out.append("no writing run in flight")
        elif self.state is not None:
            out.append(f"resumed ({self.state.line()})")
        else:
            out.append("was not paused; writing schedules and sensors are running")
        return out


def pause_processing(instance: dg.DagsterInstance, *, by: str, reason: str, now: datetime) -> PauseReport:
    """SOP Level 3: set the flag, stop the writing schedules and sensors, list the writing runs in flight."""
    state = set_pause(instance, by=by, at=now, reason=reason)
    switched = switch_writing_automations(instance, running=False)
    return PauseReport(state, switched, writing_runs_in_flight(instance))


def resume_processing(instance: dg.DagsterInstance) -> PauseReport:
    """Lift the flag and start the writing schedules and sensors again."""
    was = pause_state(instance)
    clear_pause(instance)
    return PauseReport(was, switch_writing_automations(instance, running=True), [])


# --- the same two actions as jobs, for the UI -------------------------------------------------------------------


class PauseConfig(dg.Config):
    reason: str = Field(default="", description="Why (shown to whoever finds a run refused).")


@dg.op(name="pause_processing", description="SOP Level 3: stop everything that writes lead or campaign data.")
def pause_processing_op(context: dg.OpExecutionContext, config: PauseConfig) -> None:
    report = pause_processing(
        context.instance, by=f"the Dagster UI (run {context.run_id[:8]})", reason=config.reason, now=datetime.now(UTC)
    )
    for line in report.lines(paused=True):
        context.log.info(line)


@dg.op(name="resume_processing", description="Lift the pause: writing jobs run again, their schedules start.")
def resume_processing_op(context: dg.OpExecutionContext) -> None:
    for line in resume_processing(context.instance).lines(paused=False):
        context.log.info(line)


@dg.job(
    name="pause_processing_job",
    executor_def=dg.in_process_executor,
    description="Stop processing immediately (SOP Level 3): stops the schedules and sensors tagged "
    "campaign_ops/writes and makes writing jobs refuse new runs; alerts and checks keep running. "
    "Same as `campaign-ops pause`.",
)
def pause_processing_job() -> None:
    pause_processing_op()


@dg.job(
    name="resume_processing_job",
    executor_def=dg.in_process_executor,
    description="Undo pause_processing_job: writing jobs run again and their schedules and sensors start. "
    "Same as `campaign-ops resume`.",
)
def resume_processing_job() -> None:
    resume_processing_op()


defs = dg.Definitions(jobs=[pause_processing_job, resume_processing_job])
