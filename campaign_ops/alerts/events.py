"""What the alert sensors read from the Dagster instance's event log: run status changes and asset check
evaluations, with a storage-id cursor.

Dagster's own run-status sensors and event log consumer daemon work this way: every run status change and check
evaluation is considered exactly once, and a restarted daemon carries on from the stored cursor, so nothing is
missed. A sensor enabled for the first time looks back one hour. A backlog is read EVENT_BATCH events per tick
and kind, and worked off over the following ticks.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import dagster as dg
from dagster import DagsterEventType

from campaign_ops.alerts.check_evaluation import Evaluation
from campaign_ops.alerts.run_alerts import RunEvent
from campaign_ops.clients.partition_keys import client_id_or_none
from campaign_ops.clients.partitions import clients_partitions
from campaign_ops.clients.runs import CLIENT_METADATA, CLIENTS_METADATA, FAILED_CLIENT_NAMES_METADATA
from campaign_ops.clients.tags import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from campaign_ops.errors import mask_secrets

EVENT_BATCH = 200
"""Events read per tick and kind; a backlog is worked off over the following ticks."""
FIRST_TICK_LOOKBACK = timedelta(hours=1)

ErrorLog = Callable[[str], Any]


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


def read_run_status_changes(
    instance: dg.DagsterInstance, cursor: EventCursor
) -> list[tuple[dg.EventLogRecord, DagsterEventType]]:
    """The next run failures and successes after the cursor (which moves past them), in time order."""
    batches = {
        t: _fetch_status_changes(instance, t, cursor)
        for t in (DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_SUCCESS)
    }
    # a full batch may end before events of the other kind that are already fetched: keep both in time order
    horizon = min((b[-1].timestamp for b in batches.values() if len(b) >= EVENT_BATCH), default=None)
    if horizon is not None:
        batches = {t: [r for r in b if r.timestamp <= horizon] for t, b in batches.items()}
    for event_type, records in batches.items():
        if records:
            cursor.after[event_type.value] = records[-1].storage_id
    return sorted(((r, t) for t, b in batches.items() for r in b), key=lambda rt: (rt[0].timestamp, rt[0].storage_id))


def runs_by_id(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> dict[str, dg.DagsterRun]:
    records = instance.get_run_records(dg.RunsFilter(run_ids=list(run_ids))) if run_ids else []
    return {rec.dagster_run.run_id: rec.dagster_run for rec in records}


def run_event(record: dg.EventLogRecord, event_type: DagsterEventType, run: dg.DagsterRun) -> RunEvent:
    """A run's failure or success, as the run alert rules read it."""
    failed = event_type is DagsterEventType.RUN_FAILURE
    names, clients = failed_clients(record.event_log_entry) if failed else ((), None)
    return RunEvent(
        run_id=run.run_id,
        job_name=run.job_name,
        tags=dict(run.tags),
        failed=failed,
        at=datetime.fromtimestamp(record.timestamp, UTC),
        error=run_error(record.event_log_entry) if failed else None,
        failed_clients=names,
        clients=clients,
    )


def failed_clients(entry: Any) -> tuple[tuple[str, ...], int | None]:
    """The clients a RUN_FAILURE's step failure names (a sweep's `clients_failed`), and of how many."""
    data = entry.dagster_event.event_specific_data if entry.dagster_event else None
    step_event = getattr(data, "first_step_failure_event", None)
    user = getattr(step_event.event_specific_data, "user_failure_data", None) if step_event is not None else None
    metadata = getattr(user, "metadata", None) or {}
    names, total = metadata.get(FAILED_CLIENT_NAMES_METADATA), metadata.get(CLIENTS_METADATA)
    names, total = getattr(names, "value", names), getattr(total, "value", total)
    if not isinstance(names, list) or not isinstance(total, int):
        return (), None
    return tuple(mask_secrets(str(n))[:80] for n in names), total


def run_error(entry: Any) -> str:
    """The innermost error message of a RUN_FAILURE event (the user's exception, not Dagster's wrapper)."""
    data = entry.dagster_event.event_specific_data if entry.dagster_event else None
    error = getattr(data, "error", None)
    step_event = getattr(data, "first_step_failure_event", None)
    if step_event is not None and getattr(step_event.event_specific_data, "error", None) is not None:
        error = step_event.event_specific_data.error
    while error is not None and error.cause is not None:
        error = error.cause
    text = error.message.strip() if error is not None else (entry.message or "run failed")
    if error is not None and error.cls_name == "Failure":
        # a dg.Failure carries the project's own sentence: without Dagster's class path in front of it
        text = text.removeprefix(f"{FAILURE_CLASS_PATH}: ").removeprefix("Failure: ")
    return mask_secrets(text.splitlines()[0] if text else "run failed")[:400]


FAILURE_CLASS_PATH = f"{dg.Failure.__module__}.{dg.Failure.__qualname__}"


def same_code_location(context: dg.SensorEvaluationContext, run: dg.DagsterRun) -> bool:
    """Only this code location's runs (as run_failure_sensor(monitor_all_code_locations=False) does); runs executed
    in process (`dg launch`, tests) carry no origin and count as ours."""
    origin = run.remote_job_origin
    if origin is None:
        return True
    sensor_location = context.code_location_origin.location_name if context.code_location_origin else None
    return (
        sensor_location is None or origin.repository_origin.code_location_origin.location_name == sensor_location
    ) and (context.repository_name is None or origin.repository_origin.repository_name == context.repository_name)


# --- asset checks -------------------------------------------------------------------------------------------


def _metadata_client(metadata: Any) -> str | None:
    value = (metadata or {}).get(CLIENT_METADATA)
    return value.value if isinstance(value, dg.TextMetadataValue) else None


def check_link(ui: str, asset_path: Sequence[str], check_name: str) -> str:
    path = "/".join(quote(p, safe="") for p in asset_path)
    return f"{ui}/assets/{path}?{urlencode({'view': 'checks', 'checkDetail': check_name})}"


def _client_key(key: str) -> str:
    """A client partition key as its client id (`<name>--<uuid>` and a bare uuid name the same client)."""
    return client_id_or_none(key) or key


def evaluation_scope(
    evaluation: Any, by_run: dict[str, frozenset[str] | None], run_id: str
) -> tuple[frozenset[str] | None, str]:
    """(the clients an evaluation judged, None for every active client; the key of an alert about it as a whole).

    From the evaluation itself first: its partition, or the one client its metadata names; an unpartitioned check
    over every active client says its `scope` in its metadata, and one recorded without a run covers every active
    client. Only an evaluation that says neither (a partitioned check run over a range) is scoped by its run's
    range tags."""
    if evaluation.partition:
        key = _client_key(evaluation.partition)
        return frozenset([key]), key
    client = _metadata_client(evaluation.metadata)
    if client:
        key = _client_key(client)
        return frozenset([key]), key
    if "scope" in (evaluation.metadata or {}) or not run_id:
        return None, "all"  # a check sensor's evaluation, recorded without a run, covers every active client
    covered = by_run.get(run_id, frozenset())
    return (None if covered is None else frozenset(_client_key(c) for c in covered)), "all"


def read_check_evaluations(
    instance: dg.DagsterInstance, cursor: EventCursor, ui: str, log_error: ErrorLog
) -> tuple[int, list[tuple[int, Evaluation]]]:
    """The next asset check evaluations after the cursor (which moves past them), each read with the clients it
    judged: (how many events were read, the evaluations by storage id). A record that cannot be read is logged
    through `log_error` and skipped."""
    kind = DagsterEventType.ASSET_CHECK_EVALUATION.value
    after = cursor.after.get(kind)
    if after is None:
        after = _storage_id_before(instance, DagsterEventType.ASSET_CHECK_EVALUATION, cursor.since)
    entries = (
        instance.event_log_storage.get_logs_for_all_runs_by_log_id(
            after_cursor=after, dagster_event_type=DagsterEventType.ASSET_CHECK_EVALUATION, limit=EVENT_BATCH
        )
        if after is not None
        else {}
    )
    records: list[tuple[int, Any, Any]] = []
    for storage_id, entry in sorted(entries.items()):
        cursor.after[kind] = storage_id
        if entry.timestamp < cursor.since:
            continue
        evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
        if evaluation is None or not hasattr(evaluation, "check_name"):
            log_error(f"check evaluation event {storage_id} has no evaluation; skipped")
            continue
        records.append((storage_id, entry, evaluation))

    by_run = _clients_covered(
        instance,
        [
            e.run_id
            for _, e, ev in records
            if e.run_id
            and not ev.partition
            and not _metadata_client(ev.metadata)
            and "scope" not in (ev.metadata or {})
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
            log_error(f"check evaluation event {storage_id} skipped: {mask_secrets(repr(exc))}")
    return len(records), evaluations


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
