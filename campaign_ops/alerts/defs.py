"""Dagster objects of alerts: the Slack resource and the two alert sensors.

- `run_status_alert_sensor`: failed runs of campaign-ops jobs (client, job, error, link to the run) and runs that
  left clients partial/failed in de_enrollment_runs; a later successful run of the same job and scope resolves.
- `asset_check_alert_sensor`: failed asset checks (open-source Dagster has no alert for them: a failed check does
  not fail its run), one alert per check and client, and one "resolved" message when it passes again. The checks
  are the one detector of each condition, the SOP's health lines included (no success in 2 h, stuck leads above
  100/500: the health, stuck and schema checks run every 5 minutes); campaign_ops.alerts.check_alerts names their
  failures with the SOP's and seed 004's alert types (STUCK_LEADS, NO_RECENT_SUCCESS, INVARIANT_VIOLATION, ...).

Both read the instance's event log with a storage-id cursor (Dagster's own run-status sensors and event log
consumer daemon work this way): every run status change and check evaluation is considered exactly once, and a
restarted daemon carries on from the stored cursor, so nothing is missed. A sensor enabled for the first time
looks back one hour.

Both hand their findings to `campaign_ops.alerts.core.dispatch`: de-duplication, suppression, escalation,
silences, delivery and retries happen there, once. A tick never raises because of Slack or of one bad event;
if the database is down the tick fails with one clear error and its cursor stays where it was.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import dagster as dg
from dagster import DagsterEventType
from pydantic import Field
from sqlalchemy import Connection

from campaign_ops.alerts.check_alerts import Cover, Evaluation, check_alerts, clients_of
from campaign_ops.alerts.core import (
    Alert,
    AlertSettings,
    DispatchReport,
    LogSink,
    Notifier,
    Resolution,
    ResolveScope,
    dispatch,
    mask_secrets,
    utc_now,
)
from campaign_ops.alerts.slack import (
    SlackConfig,
    alert_settings_from_env,
    build_notifier,
    dagster_ui_url,
    slack_config_from_env,
)
from campaign_ops.alerts.sources import ClientPassProblem, client_names, client_pass_problems
from campaign_ops.clients.partition_keys import client_id_or_none
from campaign_ops.clients.partitions import clients_partitions
from campaign_ops.clients.runs import CLIENT_METADATA
from campaign_ops.resources import DatabaseResource

Clock = Callable[[], datetime]

EVENT_BATCH = 200
"""Events read per tick and kind; a backlog is worked off over the following ticks."""
FIRST_TICK_LOOKBACK = timedelta(hours=1)
SENSOR_INTERVAL_SECONDS = 60
SWEEP_TAG = "campaign_ops/sweep"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


class SlackAlertResource(dg.ConfigurableResource):
    """Where alerts go and the alert policy.

    Fields left unset are read from the environment when a tick runs: ALERT_WEBHOOK_URL (or the SOP's
    DE_ENROLLMENT_ALERT_WEBHOOK), else SLACK_BOT_TOKEN + SLACK_ALERT_CHANNEL, DAGSTER_UI_URL,
    ALERT_SUPPRESSION_HOURS (6), ALERT_ESCALATION_HOURS (12). They are read this way rather than with `dg.EnvVar`
    because an EnvVar cannot be optional (an unset one fails the code location; dagster issue #16232), and with
    nothing configured alerts must still go to the log. Secrets therefore never appear in the resource config the UI
    shows.
    """

    webhook_url: str | None = Field(default=None, description="Incoming webhook URL; default ALERT_WEBHOOK_URL.")
    bot_token: str | None = Field(default=None, description="Bot token for chat.postMessage; default SLACK_BOT_TOKEN.")
    channel: str | None = Field(default=None, description="Channel for chat.postMessage; default SLACK_ALERT_CHANNEL.")
    slack_api_url: str | None = Field(default=None, description="Slack Web API base URL (tests, proxies).")
    dagster_ui_url: str | None = Field(default=None, description="Base of links in messages; default DAGSTER_UI_URL.")
    timeout_seconds: float = Field(default=5.0, description="Per-request timeout towards Slack.")
    suppression_hours: float | None = Field(default=None, description="Same alert not re-sent within (default 6).")
    escalation_hours: float | None = Field(default=None, description="A WARN still failing this long escalates (12).")

    def slack_config(self) -> SlackConfig:
        return slack_config_from_env(
            webhook_url=self.webhook_url,
            bot_token=self.bot_token,
            channel=self.channel,
            api_url=self.slack_api_url,
            timeout_seconds=self.timeout_seconds,
        )

    def notifier(self, log: LogSink | None = None) -> Notifier:
        return build_notifier(self.slack_config(), log)

    def settings(self) -> AlertSettings:
        return alert_settings_from_env(suppression_hours=self.suppression_hours, escalation_hours=self.escalation_hours)

    def ui_url(self) -> str:
        return dagster_ui_url(self.dagster_ui_url)


# --- cursors ------------------------------------------------------------------------------------------------


@dataclass
class EventCursor:
    """Storage ids already considered (per event kind) and, for a sensor's first ticks, the oldest event time that
    still counts (events before the sensor was first enabled, minus the look-back, are ignored)."""

    after: dict[str, int]
    since: float

    @classmethod
    def parse(cls, raw: str | None, now: datetime) -> "EventCursor":
        if raw:
            data = json.loads(raw)
            return cls(after={k: int(v) for k, v in data.get("after", {}).items()}, since=float(data["since"]))
        return cls(after={}, since=(now - FIRST_TICK_LOOKBACK).timestamp())

    def dump(self) -> str:
        return json.dumps({"after": self.after, "since": self.since}, sort_keys=True)


# --- run status ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunScope:
    key: str
    """`all` for sweeps and unpartitioned jobs, the partition key, or `range:<first>...<last>`."""
    label: str
    client_id: str | None


def run_scope(tags: dict[str, str]) -> RunScope:
    partition = tags.get(PARTITION_TAG)
    if partition:
        client_id = _as_uuid(partition)
        return RunScope(partition, f"client {partition}" if client_id else f"partition {partition}", client_id)
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end and tags.get(SWEEP_TAG) != "all_clients" and start != end:
        return RunScope(f"range:{start}...{end}", f"partitions {start}…{end}", None)
    if start and end and start == end:
        client_id = _as_uuid(start)
        return RunScope(start, f"client {start}" if client_id else f"partition {start}", client_id)
    return RunScope("all", "all clients" if start else "whole job", None)


def _as_uuid(value: str) -> str | None:
    """The client id a partition key names (`<name>--<uuid>` or a bare uuid), None when it names none."""
    return client_id_or_none(value)


def _run_error(entry: Any) -> str:
    """The innermost error message of a RUN_FAILURE event (the user's exception, not Dagster's wrapper)."""
    data = entry.dagster_event.event_specific_data if entry.dagster_event else None
    error = getattr(data, "error", None)
    step_event = getattr(data, "first_step_failure_event", None)
    if step_event is not None and getattr(step_event.event_specific_data, "error", None) is not None:
        error = step_event.event_specific_data.error
    while error is not None and error.cause is not None:
        error = error.cause
    text = error.message.strip() if error is not None else (entry.message or "run failed")
    return mask_secrets(text.splitlines()[0] if text else "run failed")[:400]


def _same_code_location(context: dg.SensorEvaluationContext, run: dg.DagsterRun) -> bool:
    """Only this code location's runs (as run_failure_sensor(monitor_all_code_locations=False) does); runs executed
    in process (`dg launch`, tests) carry no origin and count as ours."""
    origin = run.remote_job_origin
    if origin is None:
        return True
    sensor_location = context.code_location_origin.location_name if context.code_location_origin else None
    return (
        sensor_location is None or origin.repository_origin.code_location_origin.location_name == sensor_location
    ) and (context.repository_name is None or origin.repository_origin.repository_name == context.repository_name)


def _clients_fact(problems: Sequence[ClientPassProblem]) -> tuple[str, str]:
    shown = []
    for problem in problems[:5]:
        line = f"{problem.company_name or problem.client_id} ({problem.status})"
        if problem.error_details:
            line += f": {mask_secrets(problem.error_details)[:120]}"
        shown.append(line)
    more = f" … and {len(problems) - 5} more" if len(problems) > 5 else ""
    return ("Clients partial/failed", "; ".join(shown) + more)


def _fetch_status_changes(
    instance: dg.DagsterInstance, event_type: DagsterEventType, cursor: EventCursor
) -> list[dg.EventLogRecord]:
    after = cursor.after.get(event_type.value)
    records_filter = (
        dg.RunStatusChangeRecordsFilter(event_type=event_type, after_storage_id=after)  # type: ignore[arg-type]
        if after is not None
        else dg.RunStatusChangeRecordsFilter(event_type=event_type, after_timestamp=cursor.since)  # type: ignore[arg-type]
    )
    return list(instance.fetch_run_status_changes(records_filter, limit=EVENT_BATCH, ascending=True).records)


def run_status_tick(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    slack_alerts: SlackAlertResource,
    now: datetime,
) -> dg.SensorResult:
    cursor = EventCursor.parse(context.cursor, now)
    batches = {
        t: _fetch_status_changes(context.instance, t, cursor)
        for t in (DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_SUCCESS)
    }
    # a full batch may end before events of the other kind that are already fetched: keep both in time order
    horizon = min((b[-1].timestamp for b in batches.values() if len(b) >= EVENT_BATCH), default=None)
    if horizon is not None:
        batches = {t: [r for r in b if r.timestamp <= horizon] for t, b in batches.items()}
    for event_type, records in batches.items():
        if records:
            cursor.after[event_type.value] = records[-1].storage_id
    events = sorted(((r, t) for t, b in batches.items() for r in b), key=lambda rt: (rt[0].timestamp, rt[0].storage_id))
    run_ids = sorted({r.event_log_entry.run_id for r, _ in events})
    run_records = context.instance.get_run_records(dg.RunsFilter(run_ids=run_ids)) if run_ids else []
    runs = {rec.dagster_run.run_id: rec.dagster_run for rec in run_records}
    ui = slack_alerts.ui_url()
    firing: dict[tuple[str, str], Alert] = {}
    resolutions: dict[tuple[str, str], Resolution] = {}

    with database.connect() as conn:
        problems = client_pass_problems(conn, run_ids)
        for record, event_type in events:
            entry = record.event_log_entry
            try:
                run = runs.get(entry.run_id)
                if run is None or not _same_code_location(context, run):
                    continue
                scope = run_scope(dict(run.tags))
                link = f"{ui}/runs/{run.run_id}"
                at = datetime.fromtimestamp(record.timestamp, UTC)
                failed_key = ("RUN_FAILED", f"run_failed:{run.job_name}:{scope.key}")
                partial_key = ("RUN_PARTIAL", f"run_partial:{run.job_name}:{scope.key}")
                run_problems = problems.get(run.run_id, [])
                facts = [("Job", run.job_name), ("Scope", scope.label), ("Run", run.run_id), ("At", _fmt(at))]
                if event_type is DagsterEventType.RUN_FAILURE:
                    if run_problems:
                        facts.append(_clients_fact(run_problems))
                    alert = Alert(
                        alert_type="RUN_FAILED",
                        key=failed_key[1],
                        severity="ERROR",
                        title=f"{run.job_name} failed ({scope.label})",
                        summary=_run_error(entry),
                        client_id=scope.client_id,
                        facts=tuple(facts),
                        link=link,
                        link_label="Open the run in Dagster",
                        group=f"run_failed:{run.job_name}",
                        group_title=f"{{n}} runs of {run.job_name} failed",
                    )
                    _put(firing, resolutions, failed_key, alert)
                    continue
                note = f"run {run.run_id[:8]} of {run.job_name} succeeded at {_fmt(at)}"
                _put(firing, resolutions, failed_key, Resolution(*failed_key, note=note, link=link))
                if run_problems:
                    facts.append(_clients_fact(run_problems))
                    alert = Alert(
                        alert_type="RUN_PARTIAL",
                        key=partial_key[1],
                        severity="WARN",
                        title=f"{run.job_name} finished with {len(run_problems)} client(s) partial or failed",
                        summary="The run succeeded, but de_enrollment_runs records clients it did not finish; "
                        "the next run carries on with them.",
                        client_id=scope.client_id,
                        facts=tuple(facts),
                        link=link,
                        link_label="Open the run in Dagster",
                        group=f"run_partial:{run.job_name}",
                        group_title=f"{{n}} runs of {run.job_name} left clients partial or failed",
                    )
                    _put(firing, resolutions, partial_key, alert)
                else:
                    _put(firing, resolutions, partial_key, Resolution(*partial_key, note=note, link=link))
            except Exception as exc:  # one bad record must not stop the tick
                context.log.error(f"run status event {record.storage_id} skipped: {mask_secrets(repr(exc))}")

        report = dispatch_in_tick(
            context, conn, slack_alerts, now, firing=list(firing.values()), resolutions=list(resolutions.values())
        )
    return alert_tick_result(context, report, cursor.dump(), f"{len(events)} run event(s)")


def _put(
    firing: dict[tuple[str, str], Alert],
    resolutions: dict[tuple[str, str], Resolution],
    type_key: tuple[str, str],
    value: Alert | Resolution,
) -> None:
    """Events are applied in order: the latest state of each alert wins."""
    if isinstance(value, Alert):
        resolutions.pop(type_key, None)
        firing[type_key] = value
    else:
        firing.pop(type_key, None)
        resolutions[type_key] = value


# --- asset checks -------------------------------------------------------------------------------------------


def _metadata_client(metadata: Any) -> str | None:
    value = (metadata or {}).get(CLIENT_METADATA)
    return value.value if isinstance(value, dg.TextMetadataValue) else None


def check_link(ui: str, asset_path: Sequence[str], check_name: str) -> str:
    path = "/".join(quote(p, safe="") for p in asset_path)
    return f"{ui}/assets/{path}?{urlencode({'view': 'checks', 'checkDetail': check_name})}"


def _client_key(key: str) -> str:
    """A client partition key as its client id (`<name>--<uuid>` and a bare uuid name the same client)."""
    return _as_uuid(key) or key


def evaluation_scope(
    evaluation: Any, by_run: dict[str, frozenset[str] | None], run_id: str
) -> tuple[frozenset[str] | None, str]:
    """(the clients an evaluation judged, None for every active client; the key of an alert about it as a whole).

    From the evaluation itself first: its partition, or the one client its metadata names; an unpartitioned check
    over every active client says its `scope` in its metadata. Only an evaluation that says neither (a partitioned
    check run over a range) is scoped by its run's range tags."""
    if evaluation.partition:
        key = _client_key(evaluation.partition)
        return frozenset([key]), key
    client = _metadata_client(evaluation.metadata)
    if client:
        key = _client_key(client)
        return frozenset([key]), key
    if "scope" in (evaluation.metadata or {}):
        return None, "all"
    covered = by_run.get(run_id, frozenset())
    return (None if covered is None else frozenset(_client_key(c) for c in covered)), "all"


def asset_check_tick(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    slack_alerts: SlackAlertResource,
    now: datetime,
) -> dg.SensorResult:
    cursor = EventCursor.parse(context.cursor, now)
    kind = DagsterEventType.ASSET_CHECK_EVALUATION.value
    after = cursor.after.get(kind)
    if after is None:
        after = _storage_id_before(context.instance, DagsterEventType.ASSET_CHECK_EVALUATION, cursor.since)
    entries = (
        context.instance.event_log_storage.get_logs_for_all_runs_by_log_id(
            after_cursor=after, dagster_event_type=DagsterEventType.ASSET_CHECK_EVALUATION, limit=EVENT_BATCH
        )
        if after is not None
        else {}
    )
    ui = slack_alerts.ui_url()
    records: list[tuple[int, Any, Any]] = []
    for storage_id, entry in sorted(entries.items()):
        cursor.after[kind] = storage_id
        if entry.timestamp < cursor.since:
            continue
        evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
        if evaluation is None or not hasattr(evaluation, "check_name"):
            context.log.error(f"check evaluation event {storage_id} has no evaluation; skipped")
            continue
        records.append((storage_id, entry, evaluation))

    by_run = _clients_covered(
        context.instance,
        [
            e.run_id
            for _, e, ev in records
            if not ev.partition and not _metadata_client(ev.metadata) and "scope" not in (ev.metadata or {})
        ],
    )
    evaluations: list[tuple[int, Evaluation]] = []
    for storage_id, entry, evaluation in records:
        try:
            covered, where_key = evaluation_scope(evaluation, by_run, entry.run_id)
            evaluations.append(
                (
                    storage_id,
                    Evaluation(
                        check=evaluation.check_name,
                        asset=evaluation.asset_key.to_user_string(),
                        passed=bool(evaluation.passed),
                        severity="WARN" if evaluation.severity == dg.AssetCheckSeverity.WARN else "ERROR",
                        description=evaluation.description,
                        metadata=dict(evaluation.metadata or {}),
                        covered=covered,
                        where_key=where_key,
                        run_id=entry.run_id,
                        at=datetime.fromtimestamp(entry.timestamp, UTC),
                        link=check_link(ui, evaluation.asset_key.path, evaluation.check_name),
                    ),
                )
            )
        except Exception as exc:  # one bad record must not stop the tick
            context.log.error(f"check evaluation event {storage_id} skipped: {mask_secrets(repr(exc))}")

    # in event order, the latest evaluation of each client decides: what it covered and did not raise is over
    firing: dict[tuple[str, str], Alert] = {}
    covers: dict[tuple[str, str], Cover] = {}
    with database.connect() as conn:
        names = client_names(conn, clients_of(e for _, e in evaluations))
        for storage_id, read in evaluations:
            try:
                result = check_alerts(read, names, ui)
            except Exception as exc:  # one bad record must not stop the tick
                context.log.error(f"check evaluation event {storage_id} skipped: {mask_secrets(repr(exc))}")
                continue
            for cover in result.covers:
                for type_key in [k for k in firing if cover.holds(*k)]:
                    firing.pop(type_key)
                covers[(cover.alert_type, cover.key_prefix)] = _widen(
                    covers.get((cover.alert_type, cover.key_prefix)), cover
                )
            for alert in result.firing:
                firing[(alert.alert_type, alert.key)] = alert

        report = dispatch_in_tick(
            context,
            conn,
            slack_alerts,
            now,
            firing=list(firing.values()),
            resolve_scopes=[
                ResolveScope(
                    c.alert_type, c.key_prefix, note=c.note, keys=None if c.keys is None else tuple(sorted(c.keys))
                )
                for c in covers.values()
            ],
        )
    return alert_tick_result(context, report, cursor.dump(), f"{len(records)} check evaluation(s)")


def _widen(earlier: Cover | None, cover: Cover) -> Cover:
    """Evaluations of one check in one tick: together they judged the union of what each covered."""
    if earlier is None:
        return cover
    keys = None if earlier.keys is None or cover.keys is None else earlier.keys | cover.keys
    return Cover(cover.alert_type, cover.key_prefix, keys, cover.note)


def _storage_id_before(instance: dg.DagsterInstance, event_type: DagsterEventType, since: float) -> int | None:
    """A storage id before which every event of `event_type` is older than `since`, and after which little that is
    older remains: a sensor's first tick, or one after a cursor reset, starts from its look-back instead of paging
    through the whole event log. None while there is no such event yet (the next tick looks again from `since`).

    Found by bisecting on storage ids (ids grow with time), with the same storage call the sensor pages with, so the
    ids agree on every storage (SQLite's run-sharded one numbers events per shard): about log2(events) one-row
    queries, once."""
    storage = instance.event_log_storage

    def first_after(cursor: int) -> tuple[int, float] | None:
        entries = storage.get_logs_for_all_runs_by_log_id(after_cursor=cursor, dagster_event_type=event_type, limit=1)
        return next(((storage_id, entry.timestamp) for storage_id, entry in entries.items()), None)

    first = first_after(-1)
    if first is None:
        return None
    if first[1] >= since:
        return first[0] - 1
    # invariants: every event up to `old` is older than `since`; nothing older than `since` comes after `new`
    old, new = first[0], max(storage.get_maximum_record_id() or first[0], first[0])
    while new - old > 1:
        middle = (old + new) // 2
        found = first_after(middle)
        if found is not None and found[1] < since:
            old = found[0]
        else:
            new = middle
    return old


def _clients_covered(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> dict[str, frozenset[str] | None]:
    """For runs whose check evaluation has no partition: the client partitions the run covered, from its range tags
    resolved against the clients' partition keys; None when the run was not partitioned or its range spans every
    client partition (it covers every client). Runs no longer in the instance cover nothing."""
    if not run_ids:
        return {}
    covered: dict[str, frozenset[str] | None] = {run_id: frozenset() for run_id in run_ids}
    keys: list[str] | None = None
    for record in instance.get_run_records(dg.RunsFilter(run_ids=sorted(set(run_ids)))):
        tags = record.dagster_run.tags
        start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
        if not start or not end:
            covered[record.dagster_run.run_id] = frozenset([tags[PARTITION_TAG]]) if PARTITION_TAG in tags else None
            continue
        if keys is None:
            keys = list(clients_partitions.get_partition_keys(dynamic_partitions_store=instance))
        if start in keys and end in keys and keys.index(start) <= keys.index(end):
            in_range = keys[keys.index(start) : keys.index(end) + 1]
            # a range over every client (the hourly sweeps) is a run over all of them
            covered[record.dagster_run.run_id] = None if len(in_range) == len(keys) else frozenset(in_range)
        else:  # a range over keys that no longer exist: say nothing about any client
            covered[record.dagster_run.run_id] = frozenset([start, end])
    return covered


# --- assembly -----------------------------------------------------------------------------------------------


def dispatch_in_tick(
    context: dg.SensorEvaluationContext,
    conn: Connection,
    slack_alerts: SlackAlertResource,
    now: datetime,
    *,
    firing: Sequence[Alert] = (),
    resolutions: Sequence[Resolution] = (),
    resolve_scopes: Sequence[ResolveScope] = (),
) -> DispatchReport:
    """The one way a sensor raises or resolves alerts: the resource's channel and policy, the tick's log.
    Other capabilities' alert sensors (the critical alerts) call this too — there is no second alert path."""
    return dispatch(
        conn,
        firing=firing,
        resolutions=resolutions,
        resolve_scopes=resolve_scopes,
        now=now,
        notifier=slack_alerts.notifier(context.log),
        settings=slack_alerts.settings(),
        log=context.log,
    )


def alert_tick_result(
    context: dg.SensorEvaluationContext, report: DispatchReport, cursor: str | None, read: str
) -> dg.SensorResult:
    """The tick's outcome in one line (the sensor's tick history in the UI) and its new cursor."""
    summary = f"{read}; alerts: {report.summary()}"
    (context.log.warning if report.failed or report.errors else context.log.info)(summary)
    return dg.SensorResult(skip_reason=summary, cursor=cursor)


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def build_alert_sensors(clock: Clock = utc_now) -> list[dg.SensorDefinition]:
    """The alert sensors, reading the time from `clock` (tests inject one)."""

    @dg.sensor(
        name="run_status_alert_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Slack alert for each failed or partial run of a campaign-ops job; resolved by a later success.",
    )
    def run_status_alert_sensor(
        context: dg.SensorEvaluationContext, database: DatabaseResource, slack_alerts: SlackAlertResource
    ) -> dg.SensorResult:
        return run_status_tick(context, database, slack_alerts, clock())

    @dg.sensor(
        name="asset_check_alert_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Slack alert for each failed asset check, per client, named by what it found (STUCK_LEADS, "
        "NO_RECENT_SUCCESS, INVARIANT_VIOLATION, STUCK_CLIENT, PAYMENT_BLOCK, else CHECK_FAILED); one message when "
        "it passes again.",
    )
    def asset_check_alert_sensor(
        context: dg.SensorEvaluationContext, database: DatabaseResource, slack_alerts: SlackAlertResource
    ) -> dg.SensorResult:
        return asset_check_tick(context, database, slack_alerts, clock())

    return [run_status_alert_sensor, asset_check_alert_sensor]


run_status_alert_sensor, asset_check_alert_sensor = build_alert_sensors()

defs = dg.Definitions(
    sensors=[run_status_alert_sensor, asset_check_alert_sensor],
    resources={"slack_alerts": SlackAlertResource()},
)
