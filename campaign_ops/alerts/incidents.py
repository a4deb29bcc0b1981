"""Each alert's incident, one alert_logs row per alert type and key: observing a firing alert, resolving what is
fine again, the messages still owed, the silences in force.

Every step runs under the row's lock (the caller's transaction) and is decided by `campaign_ops.alerts.policy`;
it returns the messages to deliver. The queries are the .sql files beside this one.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, RowMapping

from campaign_ops.alerts.model import Alert, MessageKind, ResolveScope
from campaign_ops.alerts.policy import AlertSettings, AlertState, FiringDecision, Silence, decide_firing
from campaign_ops.alerts.rendering import follow_up_note, resolved_note, worse_note
from campaign_ops.sqlfiles import load_sql


@dataclass
class PlannedMessage:
    """A message owed for one alert row, before grouping."""

    row_id: int
    alert: Alert
    kind: MessageKind
    severity: str
    note: str | None
    attempts_before: int


def active_silences(conn: Connection, now: datetime) -> list[Silence]:
    return [Silence(**r) for r in conn.execute(load_sql(__file__, "active_silences.sql"), {"now": now}).mappings()]


def observe(
    conn: Connection, alert: Alert, now: datetime, settings: AlertSettings
) -> tuple[AlertState, FiringDecision, PlannedMessage | None]:
    """Record one observation of a firing alert (its row created on first sight) and decide what to send: (its
    state before this observation, with the acknowledgement holding for it; the decision; the message)."""
    params = {
        "alert_type": alert.alert_type,
        "alert_key": alert.key,
        "severity": alert.severity,
        "resource_id": alert.client_id,
        "title": alert.title,
        "message": alert.summary,
        "payload": json.dumps(alert.to_payload()),
        "now": now,
    }
    conn.execute(load_sql(__file__, "ensure_alert.sql"), params)
    row = conn.execute(load_sql(__file__, "lock_alert.sql"), params).mappings().one()
    state = AlertState.from_row(row)
    if state.is_open:
        ack = (
            conn.execute(
                load_sql(__file__, "active_ack.sql"), {"id": state.id, "active_since": state.active_since, "now": now}
            )
            .mappings()
            .first()
        )
        if ack is not None:
            state = replace(state, acked_severity=ack["severity"])
    decision = decide_firing(state, alert, now, settings)
    conn.execute(
        load_sql(__file__, "observe_alert.sql"),
        {**params, "id": state.id, "severity": decision.severity, "new_incident": decision.new_incident},
    )
    if decision.action != "send":
        return state, decision, None
    assert decision.kind is not None
    note = (
        None
        if decision.new_incident
        else follow_up_note(decision.kind, alert, decision.severity, state.active_since, settings)
    )
    if decision.worse_than is not None:
        note = worse_note(decision.worse_than, decision.severity, state.active_since)
    attempts = 0 if decision.new_incident else state.attempt_count
    return state, decision, PlannedMessage(state.id, alert, decision.kind, decision.severity, note, attempts)


def lock_alert(conn: Connection, alert_type: str, key: str) -> Sequence[RowMapping]:
    """The row of one alert (none when it never fired), locked."""
    return (
        conn.execute(load_sql(__file__, "lock_alert.sql"), {"alert_type": alert_type, "alert_key": key})
        .mappings()
        .all()
    )


def lock_open_alerts(conn: Connection, scope: ResolveScope, keep_keys: Iterable[str]) -> Sequence[RowMapping]:
    """The open alerts of a scope, locked, but for `keep_keys` (the ones firing in this dispatch)."""
    return (
        conn.execute(
            load_sql(__file__, "lock_open_alerts.sql"),
            {
                "alert_type": scope.alert_type,
                "key_prefix": scope.key_prefix,
                "only_keys": None if scope.keys is None else list(scope.keys),
                "keep_keys": sorted(keep_keys),
            },
        )
        .mappings()
        .all()
    )


def resolve(
    conn: Connection, rows: Iterable[RowMapping], note: str, link: str | None, now: datetime
) -> tuple[list[PlannedMessage], list[tuple[PlannedMessage, datetime | None]]]:
    """Resolve the open incidents among the locked `rows`: (the "resolved" messages owed on the main channel — one
    for each incident a message was delivered about; every incident ended, with its "resolved" message and its
    start, for the paging channels)."""
    planned: list[PlannedMessage] = []
    ended: list[tuple[PlannedMessage, datetime | None]] = []
    for row in rows:
        state = AlertState.from_row(row)
        if not state.is_open:
            continue
        conn.execute(load_sql(__file__, "mark_resolved.sql"), {"id": state.id, "now": now})
        alert = Alert.from_payload(row["last_payload"], row)
        if link:
            alert = replace(alert, link=link)
        text = resolved_note(note, state.active_since)
        message = PlannedMessage(state.id, alert, MessageKind.RESOLVED, state.severity, text, 0)
        ended.append((message, state.active_since))
        if state.notified_in_incident:
            planned.append(message)
    return planned, ended


def owed_messages(
    conn: Connection, now: datetime, skip_ids: Iterable[int], settings: AlertSettings
) -> tuple[list[PlannedMessage], list[str]]:
    """Messages whose delivery failed and whose next attempt is due (but for the rows in `skip_ids`), locked: (the
    messages, one error line per row whose stored alert cannot be read)."""
    rows = (
        conn.execute(
            load_sql(__file__, "lock_due_retries.sql"),
            {"now": now, "skip_ids": sorted(skip_ids), "limit": settings.retry_batch},
        )
        .mappings()
        .all()
    )
    planned: list[PlannedMessage] = []
    errors: list[str] = []
    for row in rows:
        alert = stored_alert(row, errors)
        if alert is not None:
            planned.append(owed_message(row, alert, settings))
    return planned, errors


def stored_alert(row: RowMapping, errors: list[str]) -> Alert | None:
    """The alert a row stored for its retries, or None with one line in `errors` when it cannot be read."""
    try:
        return Alert.from_payload(row["last_payload"], row)
    except (ValueError, TypeError) as exc:
        errors.append(f"{row['alert_type']} {row['alert_key']}: unreadable payload: {exc}")
        return None


def owed_message(row: RowMapping, alert: Alert, settings: AlertSettings) -> PlannedMessage:
    """The message a row owes (`pending_kind`), with the note of a follow-up: an alert's row or one channel's."""
    kind = MessageKind(row["pending_kind"])
    note = follow_up_note(kind, alert, row["severity"], row["active_since"], settings)
    return PlannedMessage(row["id"], alert, kind, row["severity"], note, row["attempt_count"])
