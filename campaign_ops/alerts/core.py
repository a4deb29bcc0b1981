"""The alert pipeline: one path from "this is wrong" to a message, shared by every alert sensor and the CLI.

A caller (a sensor tick, `campaign-ops alerts test`, later the onboarding alerts of issue 9) builds `Alert`s for
what is wrong now and `Resolution`s / `ResolveScope`s for what is fine again, and calls `dispatch`. Under a row
lock on each alert's `alert_logs` row (unique alert_type + alert_key), `dispatch` decides:

- a **new incident** (first observation, or first since the last resolution) is sent;
- the same alert again inside the **suppression window** (default 6 h) is suppressed; after it, a reminder;
- a WARN (or MEDIUM) alert still failing **12 h** after its incident began is re-sent **once** as an escalation,
  at the next severity up;
- a **silence** in force withholds the message; it is recorded (delivery_status 'silenced'), not sent;
- an open incident that is fine again gets **one "resolved" message** if a message about it was delivered;
- a **failed delivery** (HTTP error, 429, timeout, DNS) is recorded with the message still owed and the time of
  the next attempt (Retry-After, else back-off), the alert is written to the log, and any later dispatch retries
  it. After one failure no further delivery is tried in the same dispatch: Slack is not hammered and a tick stays
  short.

Alerts of one `group` dispatched together become one message ("3 clients: …") while each keeps its own row.
Everything takes `now` from the caller, so tests drive the clock.
"""

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, RowMapping

from campaign_ops.errors import mask_secrets as mask_secrets  # re-exported: alert modules import it from here
from campaign_ops.sqlfiles import load_sql

logger = logging.getLogger("campaign_ops.alerts")

SEVERITIES: tuple[str, ...] = ("INFO", "LOW", "WARN", "MEDIUM", "ERROR", "HIGH", "CRITICAL")
"""Ordered from least to most severe (alert_logs accepts the SOP's INFO/WARN/ERROR/CRITICAL and seed 004's
LOW/MEDIUM/HIGH)."""
ESCALATES_TO: dict[str, str] = {"WARN": "ERROR", "MEDIUM": "HIGH"}
"""What a still-failing alert escalates to after `AlertSettings.escalation_after` (seed 004: MEDIUM → HIGH)."""

ALERT_TYPES: dict[str, str] = {
    "RUN_FAILED": "a run of a campaign-ops job failed",
    "RUN_PARTIAL": "a run left clients partial or failed in de_enrollment_runs",
    "CHECK_FAILED": "an asset check found something about a client (or could not run)",
    "NO_RECENT_SUCCESS": "de_enrollment_health: no successful de-enrollment for a client within the allowed hours",
    "STUCK_LEADS": "stuck_leads over every client: stuck leads above the WARN or the ERROR line",
    "TEST": "a test alert sent by `campaign-ops alerts test`",
    # seed 004's critical alerts (stuck_onboarding_clients and schema_contract checks, campaign_ops/critical_alerts)
    "STUCK_CLIENT": "stuck_onboarding_clients: an onboarding client stuck HIGH in a terminal state",
    "PAYMENT_BLOCK": "stuck_onboarding_clients: an onboarding client in S5_CONFIRM_LIVE without payment",
    "POOL_EMPTY": "no AVAILABLE number in the Twilio number pool",
    "REPEATED_FAILURE": "a client's last 5 de-enrollment passes all failed (within a few sweep cadences)",
    "INVARIANT_VIOLATION": "schema_contract failed, or a completed lead is still active",
}
"""Every alert type and what it means (silences name these; issue 9 adds its own here)."""


class MessageKind(StrEnum):
    FIRING = "firing"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    RESOLVED = "resolved"


DeliveryStatus = Literal["sent", "logged", "failed"]


@dataclass(frozen=True)
class AlertSettings:
    suppression: timedelta = timedelta(hours=6)
    escalation_after: timedelta = timedelta(hours=12)
    retry_backoff: timedelta = timedelta(seconds=60)
    retry_backoff_max: timedelta = timedelta(minutes=15)
    retry_batch: int = 100
    delivery_budget_seconds: float = 30.0
    """Wall time one dispatch may spend delivering; the rest is owed to the next one (a sensor tick must end well
    within Dagster's 60 s sensor timeout, even when Slack answers slowly)."""

    def __post_init__(self) -> None:
        if self.suppression <= timedelta(0) or self.escalation_after <= timedelta(0):
            raise ValueError("suppression window and escalation delay must be positive")


@dataclass(frozen=True)
class Alert:
    """Something wrong now. `key` identifies it across ticks (e.g. `check_failed:stuck_leads:<client>`)."""

    alert_type: str
    key: str
    severity: str
    title: str
    summary: str
    client_id: str | None = None
    facts: tuple[tuple[str, str], ...] = ()
    """What / where / how many, as (label, value) pairs."""
    link: str | None = None
    link_label: str = "Open in Dagster"
    group: str | None = None
    """Alerts of the same group sent in one dispatch become one message."""
    group_title: str | None = None
    """Title of the aggregated message; `{n}` is replaced by the number of alerts in it."""

    def __post_init__(self) -> None:
        if not self.alert_type or self.alert_type != self.alert_type.upper():
            raise ValueError(f"alert type must be upper case, got {self.alert_type!r}")
        if not self.key or len(self.key) > 500:
            raise ValueError("alert key must be 1 to 500 characters")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}; known: {', '.join(SEVERITIES)}")
        if self.client_id is not None:
            object.__setattr__(self, "client_id", str(uuid.UUID(str(self.client_id))))

    def to_payload(self) -> dict[str, Any]:
        return {
            "alert_type": self.alert_type,
            "key": self.key,
            "severity": self.severity,
            "title": self.title,
            "summary": self.summary,
            "client_id": self.client_id,
            "facts": [list(f) for f in self.facts],
            "link": self.link,
            "link_label": self.link_label,
            "group": self.group,
            "group_title": self.group_title,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any] | None, row: RowMapping) -> "Alert":
        """The alert as stored in `last_payload`; falls back to the row's own columns for what is missing."""
        p = payload or {}
        return cls(
            alert_type=row["alert_type"],
            key=row["alert_key"],
            severity=p.get("severity") or row["severity"],
            title=p.get("title") or row["alert_key"],
            summary=p.get("summary") or "",
            client_id=p.get("client_id"),
            facts=tuple((str(a), str(b)) for a, b in p.get("facts") or ()),
            link=p.get("link"),
            link_label=p.get("link_label") or "Open in Dagster",
            group=p.get("group"),
            group_title=p.get("group_title"),
        )


@dataclass(frozen=True)
class Resolution:
    """An alert that is fine again (e.g. its check passed); `note` says how we know."""

    alert_type: str
    key: str
    note: str = ""
    link: str | None = None


@dataclass(frozen=True)
class ResolveScope:
    """Level-triggered alerts: every open alert of `alert_type` whose key starts with `key_prefix` and that is not
    among the alerts firing in this dispatch is resolved."""

    alert_type: str
    key_prefix: str = ""
    note: str = ""
    keys: tuple[str, ...] | None = None
    """Only these keys (e.g. the clients a range run's check covered); None: every key with the prefix."""


@dataclass(frozen=True)
class MessageItem:
    alert: Alert
    note: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for a channel: one alert, or several of a group."""

    kind: MessageKind
    severity: str
    items: tuple[MessageItem, ...]

    @property
    def title(self) -> str:
        first = self.items[0].alert
        if len(self.items) == 1:
            return first.title
        if first.group_title:
            return first.group_title.replace("{n}", str(len(self.items)))
        return f"{len(self.items)} {first.alert_type} alerts"


@dataclass(frozen=True)
class DeliveryResult:
    status: DeliveryStatus
    channel: str
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    """Seconds the channel asked us to wait (HTTP 429 Retry-After)."""


class Notifier(Protocol):
    channel: str

    def deliver(self, message: OutgoingMessage) -> DeliveryResult: ...


def notifier_secrets(notifier: Notifier) -> tuple[str, ...]:
    """The secrets of a notifier's channel (webhook URL, token) that no recorded or logged text may contain."""
    return tuple(getattr(notifier, "secrets", ()))


class LogSink(Protocol):
    def info(self, msg: str, *args: Any) -> Any: ...
    def warning(self, msg: str, *args: Any) -> Any: ...
    def error(self, msg: str, *args: Any) -> Any: ...


class LogNotifier:
    """The clear fallback when no Slack is configured: the alert is written to the log (status 'logged')."""

    channel = "log"

    def __init__(self, log: LogSink | None = None) -> None:
        self.log = log or logger

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        self.log.warning(f"[ALERT] (no Slack configured; logged only)\n{render_text(message)}")
        return DeliveryResult(status="logged", channel=self.channel)


# --- rendering ----------------------------------------------------------------------------------------------

_KIND_NOTES = {
    MessageKind.FIRING: "",
    MessageKind.REMINDER: "Reminder: still failing",
    MessageKind.ESCALATION: "Escalated: still failing",
    MessageKind.RESOLVED: "Resolved",
}


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def message_heading(message: OutgoingMessage) -> str:
    """`[ERROR] title`, `[RESOLVED] title`, `[ESCALATED → ERROR] title`."""
    if message.kind is MessageKind.RESOLVED:
        label = "RESOLVED"
    elif message.kind is MessageKind.ESCALATION:
        label = f"ESCALATED → {message.severity}"
    else:
        label = message.severity
    return f"[{label}] {message.title}"


def render_text(message: OutgoingMessage) -> str:
    """Plain text of a message: the log fallback and Slack's notification text."""
    lines = [message_heading(message)]
    for item in message.items:
        alert = item.alert
        prefix = "" if len(message.items) == 1 else f"• {alert.title}: "
        lines.append(f"{prefix}{alert.summary}".rstrip())
        lines.extend(f"    {label}: {value}" for label, value in alert.facts)
        if item.note:
            lines.append(f"    {item.note}")
        if alert.link:
            lines.append(f"    {alert.link_label}: {alert.link}")
        lines.append(f"    alert: {alert.alert_type} {alert.key}")
    return "\n".join(lines)


# --- decisions (pure) ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertState:
    """The part of an alert_logs row the decisions need."""

    id: int
    severity: str
    active_since: datetime | None
    last_sent_at: datetime | None
    resolved_at: datetime | None
    escalated_at: datetime | None
    pending_kind: str | None
    next_attempt_at: datetime | None
    attempt_count: int
    last_sent_severity: str | None = None
    """The severity of the last message delivered about the alert."""

    @classmethod
    def from_row(cls, row: RowMapping) -> "AlertState":
        return cls(**{f: row[f] for f in cls.__dataclass_fields__})

    @property
    def is_open(self) -> bool:
        return self.active_since is not None and self.resolved_at is None

    @property
    def notified_in_incident(self) -> bool:
        """A message about the current incident reached its channel."""
        if self.active_since is None or self.last_sent_at is None:
            return False
        return self.last_sent_at >= self.active_since


Action = Literal["send", "suppressed", "deferred"]


@dataclass(frozen=True)
class FiringDecision:
    new_incident: bool
    action: Action
    kind: MessageKind | None
    severity: str
    """Effective severity: the alert's, or the escalated one once escalated."""
    worse_than: str | None = None
    """Sent because the alert is more severe than the last message about it said (this one's severity then)."""


def decide_firing(state: AlertState, alert: Alert, now: datetime, settings: AlertSettings) -> FiringDecision:
    """What to do with one observation of a firing alert (silences are applied afterwards)."""
    new_incident = not state.is_open
    base = alert.severity
    if new_incident:
        return FiringDecision(True, "send", MessageKind.FIRING, base)
    assert state.active_since is not None
    severity = ESCALATES_TO.get(base, base) if state.escalated_at is not None else base
    if state.pending_kind is not None and state.next_attempt_at is not None and state.next_attempt_at > now:
        return FiringDecision(False, "deferred", None, severity)
    if base in ESCALATES_TO and state.escalated_at is None and now - state.active_since >= settings.escalation_after:
        return FiringDecision(False, "send", MessageKind.ESCALATION, ESCALATES_TO[base])
    if state.pending_kind is not None and state.pending_kind != MessageKind.RESOLVED:
        return FiringDecision(False, "send", MessageKind(state.pending_kind), severity)
    if not state.notified_in_incident:
        # earlier observations were silenced (or their delivery never succeeded): say it now
        return FiringDecision(False, "send", MessageKind.FIRING, severity)
    said = state.last_sent_severity
    if said is not None and severity_rank(severity) > severity_rank(said):
        # worse than the last message said (e.g. stuck leads past the ERROR line while the WARN is open): news,
        # whatever the suppression window; a drop back is not, and a rise to what was already said is not again
        return FiringDecision(False, "send", MessageKind.FIRING, severity, worse_than=said)
    assert state.last_sent_at is not None
    if now - state.last_sent_at >= settings.suppression:
        return FiringDecision(False, "send", MessageKind.REMINDER, severity)
    return FiringDecision(False, "suppressed", None, severity)


def next_attempt(now: datetime, attempts_before: int, result: DeliveryResult, settings: AlertSettings) -> datetime:
    """Retry-After when the channel gave one, else exponential back-off from `retry_backoff` to its maximum."""
    if result.retry_after is not None and result.retry_after > 0:
        return now + timedelta(seconds=result.retry_after)
    backoff = settings.retry_backoff * (2 ** min(attempts_before, 16))
    return now + min(backoff, settings.retry_backoff_max)


# --- silences -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Silence:
    id: int
    alert_type: str | None
    client_id: str | None
    starts_at: datetime
    until: datetime
    created_by: str
    reason: str | None

    def matches(self, alert: Alert) -> bool:
        return (self.alert_type is None or self.alert_type == alert.alert_type) and (
            self.client_id is None or self.client_id == alert.client_id
        )


def active_silences(conn: Connection, now: datetime) -> list[Silence]:
    return [Silence(**r) for r in conn.execute(load_sql(__file__, "active_silences.sql"), {"now": now}).mappings()]


def matching_silence(silences: Sequence[Silence], alert: Alert) -> Silence | None:
    return next((s for s in silences if s.matches(alert)), None)


# --- dispatch -----------------------------------------------------------------------------------------------


@dataclass
class DispatchReport:
    """What one dispatch did, counted per alert (an aggregated message counts each of its alerts)."""

    observed: int = 0
    sent: int = 0
    logged: int = 0
    failed: int = 0
    suppressed: int = 0
    deferred: int = 0
    silenced: int = 0
    resolved: int = 0
    retried: int = 0
    messages: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{self.observed} firing",
            f"{self.messages} message(s)",
            f"{self.sent} sent",
            f"{self.logged} logged",
            f"{self.failed} failed",
            f"{self.suppressed} suppressed",
            f"{self.deferred} waiting to retry",
            f"{self.silenced} silenced",
            f"{self.resolved} resolved",
        ]
        if self.retried:
            parts.append(f"{self.retried} retried")
        if self.errors:
            parts.append(f"{len(self.errors)} error(s)")
        return ", ".join(parts)


@dataclass
class _Planned:
    """A message owed for one alert row, before grouping."""

    row_id: int
    alert: Alert
    kind: MessageKind
    severity: str
    note: str | None
    attempts_before: int


def _payload_json(alert: Alert) -> str:
    return json.dumps(alert.to_payload())


def _observe(
    conn: Connection, alert: Alert, now: datetime, settings: AlertSettings, report: DispatchReport
) -> tuple[int, _Planned | None]:
    params = {
        "alert_type": alert.alert_type,
        "alert_key": alert.key,
        "severity": alert.severity,
        "resource_id": alert.client_id,
        "title": alert.title,
        "message": alert.summary,
        "payload": _payload_json(alert),
        "now": now,
    }
    conn.execute(load_sql(__file__, "ensure_alert.sql"), params)
    row = conn.execute(load_sql(__file__, "lock_alert.sql"), params).mappings().one()
    state = AlertState.from_row(row)
    decision = decide_firing(state, alert, now, settings)
    conn.execute(
        load_sql(__file__, "observe_alert.sql"),
        {**params, "id": state.id, "severity": decision.severity, "new_incident": decision.new_incident},
    )
    report.observed += 1
    if decision.action == "suppressed":
        report.suppressed += 1
        return state.id, None
    if decision.action == "deferred":
        report.deferred += 1
        return state.id, None
    assert decision.kind is not None
    note = None if decision.new_incident else _note(decision.kind, alert, decision.severity, state, settings)
    if decision.worse_than is not None:
        note = f"Worse: {decision.worse_than} → {decision.severity} (failing since {_fmt(state.active_since)})."
    attempts = 0 if decision.new_incident else state.attempt_count
    return state.id, _Planned(state.id, alert, decision.kind, decision.severity, note, attempts)


def _note(kind: MessageKind, alert: Alert, severity: str, state: AlertState, settings: AlertSettings) -> str | None:
    if kind is MessageKind.REMINDER:
        return f"Still failing since {_fmt(state.active_since)} (reminder every {_fmt_delta(settings.suppression)})."
    if kind is MessageKind.ESCALATION:
        return (
            f"Escalated {alert.severity} → {severity}: still failing since {_fmt(state.active_since)} "
            f"(over {_fmt_delta(settings.escalation_after)})."
        )
    return None


def _resolve_rows(
    conn: Connection, rows: Iterable[RowMapping], note: str, link: str | None, now: datetime, report: DispatchReport
) -> list[_Planned]:
    planned: list[_Planned] = []
    for row in rows:
        state = AlertState.from_row(row)
        if not state.is_open:
            continue
        conn.execute(load_sql(__file__, "mark_resolved.sql"), {"id": state.id, "now": now})
        report.resolved += 1
        if state.notified_in_incident:
            alert = Alert.from_payload(row["last_payload"], row)
            if link:
                alert = replace(alert, link=link)
            since = f"failing since {_fmt(state.active_since)}" if state.active_since else ""
            text = "; ".join(p for p in (note, since) if p)
            planned.append(_Planned(state.id, alert, MessageKind.RESOLVED, state.severity, text or None, 0))
    return planned


def dispatch(
    conn: Connection,
    *,
    firing: Sequence[Alert] = (),
    resolutions: Sequence[Resolution] = (),
    resolve_scopes: Sequence[ResolveScope] = (),
    now: datetime,
    notifier: Notifier,
    settings: AlertSettings | None = None,
    log: LogSink | None = None,
    retry_due: bool = True,
) -> DispatchReport:
    """Decide, deliver and record the given alerts (and retry owed messages that are due), then commit.

    Each alert is decided under its row lock inside a savepoint: one bad alert is reported in `errors` and
    skipped, the rest go on. Delivery errors never raise; they are recorded and retried later.
    """
    settings = settings or AlertSettings()
    log = log or logger
    report = DispatchReport()
    planned: list[_Planned] = []
    touched: set[int] = set()
    try:
        silences = active_silences(conn, now)
        firing_keys: dict[str, set[str]] = {}
        unique = {(a.alert_type, a.key): a for a in firing}
        for type_key in sorted(unique):
            alert = unique[type_key]
            try:
                with conn.begin_nested():
                    row_id, plan = _observe(conn, alert, now, settings, report)
                touched.add(row_id)
                firing_keys.setdefault(alert.alert_type, set()).add(alert.key)
                if plan:
                    planned.append(plan)
            except Exception as exc:  # one bad alert must not stop the others
                report.errors.append(f"{alert.alert_type} {alert.key}: {mask_secrets(str(exc))}")
                log.error(f"alert {alert.alert_type} {alert.key} could not be processed: {mask_secrets(str(exc))}")

        for resolution in sorted(resolutions, key=lambda r: (r.alert_type, r.key)):
            if resolution.key in firing_keys.get(resolution.alert_type, set()):
                continue
            rows = (
                conn.execute(
                    load_sql(__file__, "lock_alert.sql"),
                    {"alert_type": resolution.alert_type, "alert_key": resolution.key},
                )
                .mappings()
                .all()
            )
            for plan in _resolve_rows(conn, rows, resolution.note, resolution.link, now, report):
                planned.append(plan)
                touched.add(plan.row_id)
        for scope in resolve_scopes:
            rows = (
                conn.execute(
                    load_sql(__file__, "lock_open_alerts.sql"),
                    {
                        "alert_type": scope.alert_type,
                        "key_prefix": scope.key_prefix,
                        "only_keys": None if scope.keys is None else list(scope.keys),
                        "keep_keys": sorted(firing_keys.get(scope.alert_type, set())),
                    },
                )
                .mappings()
                .all()
            )
            touched.update(r["id"] for r in rows)
            planned.extend(_resolve_rows(conn, rows, scope.note, None, now, report))

        if retry_due:
            rows = (
                conn.execute(
                    load_sql(__file__, "lock_due_retries.sql"),
                    {"now": now, "skip_ids": sorted(touched), "limit": settings.retry_batch},
                )
                .mappings()
                .all()
            )
            for row in rows:
                try:
                    alert = Alert.from_payload(row["last_payload"], row)
                except (ValueError, TypeError) as exc:
                    report.errors.append(f"{row['alert_type']} {row['alert_key']}: unreadable payload: {exc}")
                    continue
                report.retried += 1
                state = AlertState.from_row(row)
                kind = MessageKind(row["pending_kind"])
                note = _note(kind, alert, state.severity, state, settings)
                planned.append(_Planned(state.id, alert, kind, state.severity, note, state.attempt_count))

        _deliver_planned(conn, planned, silences, now, notifier, settings, log, report)
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    return report


def silenced_digest(plan: "_Planned", silence: Silence) -> str:
    """What a silenced message is about: its kind, severity, the silence, and its text with the figures left out
    (a count or an age that moves every tick is the same incident; a new title, summary or severity is news)."""
    text = "\n".join((plan.alert.title, plan.alert.summary))
    parts = (plan.kind.value, plan.severity, str(silence.id), re.sub(r"\d+(?:[.,]\d+)*", "#", text))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _deliver_planned(
    conn: Connection,
    planned: Sequence[_Planned],
    silences: Sequence[Silence],
    now: datetime,
    notifier: Notifier,
    settings: AlertSettings,
    log: LogSink,
    report: DispatchReport,
) -> None:
    secrets = notifier_secrets(notifier)
    # silences first: a silenced alert is recorded and leaves its group
    audible: list[_Planned] = []
    for plan in planned:
        silence = matching_silence(silences, plan.alert)
        if silence is None:
            audible.append(plan)
            continue
        report.silenced += 1
        digest = silenced_digest(plan, silence)
        recorded = conn.execute(
            load_sql(__file__, "record_silenced.sql"), {"ids": [plan.row_id], "digest": digest, "now": now}
        ).one()[1]
        if not recorded:  # withheld again, saying the same: already on record
            continue
        _insert_deliveries(
            conn, [plan.row_id], plan.kind, plan.severity, "none", "silenced", None, None, silence.id, now
        )
        log.info(
            f"alert {plan.alert.alert_type} {plan.alert.key} ({plan.kind}) silenced by silence #{silence.id} "
            f"until {_fmt(silence.until)}"
        )

    groups: dict[tuple[str, str], list[_Planned]] = {}
    for plan in audible:
        group = plan.alert.group or f"{plan.alert.alert_type}|{plan.alert.key}"
        groups.setdefault((group, plan.kind.value), []).append(plan)

    first_failure: tuple[DeliveryResult, datetime] | None = None
    started = time.monotonic()
    for (_, _), plans in sorted(groups.items(), key=lambda kv: -max(severity_rank(p.severity) for p in kv[1])):
        plans.sort(key=lambda p: p.alert.key)
        severity = max((p.severity for p in plans), key=severity_rank)
        message = OutgoingMessage(plans[0].kind, severity, tuple(MessageItem(p.alert, p.note) for p in plans))
        ids = [p.row_id for p in plans]
        attempts_before = max(p.attempts_before for p in plans)
        if first_failure is None and time.monotonic() - started > settings.delivery_budget_seconds:
            budget = f"not attempted: this dispatch's delivery time ({settings.delivery_budget_seconds:g} s) ran out"
            conn.execute(
                load_sql(__file__, "record_deferred.sql"),
                {"ids": ids, "kind": message.kind.value, "error": budget, "now": now},
            )
            report.deferred += len(ids)
            continue
        if first_failure is not None:
            # the channel just failed: don't try again in this dispatch; owe the message from the same time on
            failed, retry_at = first_failure
            error = f"not attempted after an earlier failure: {failed.error}"
            result = DeliveryResult(status="failed", channel=notifier.channel, error=error)
        else:
            try:
                result = notifier.deliver(message)
            except Exception as exc:  # a notifier must not raise, but a tick must survive one that does
                error = mask_secrets(repr(exc), secrets)
                result = DeliveryResult(status="failed", channel=notifier.channel, error=error)
            retry_at = next_attempt(now, attempts_before, result, settings)
            report.messages += 1
        if result.status in ("sent", "logged"):
            conn.execute(
                load_sql(__file__, "record_delivered.sql"),
                {"ids": ids, "status": result.status, "severity": severity, "kind": message.kind.value, "now": now},
            )
            if result.status == "sent":
                report.sent += len(ids)
            else:
                report.logged += len(ids)
        else:
            error = mask_secrets(result.error or "delivery failed", secrets)
            conn.execute(
                load_sql(__file__, "record_failed.sql"),
                {"ids": ids, "error": error, "kind": message.kind.value, "next_attempt_at": retry_at, "now": now},
            )
            report.failed += len(ids)
            if first_failure is None:
                first_failure = (result, retry_at)
            # the alert still reaches a human reader: the log
            log.warning(
                f"[ALERT] Slack delivery failed ({error}); recorded, next attempt at {_fmt(retry_at)}\n"
                + mask_secrets(render_text(message), secrets)
            )
        error_text = mask_secrets(result.error, secrets) if result.error else None
        _insert_deliveries(
            conn, ids, message.kind, severity, result.channel, result.status, result.http_status, error_text, None, now
        )


def _insert_deliveries(
    conn: Connection,
    ids: list[int],
    kind: MessageKind,
    severity: str,
    channel: str,
    status: str,
    http_status: int | None,
    error: str | None,
    silence_id: int | None,
    now: datetime,
) -> None:
    conn.execute(
        load_sql(__file__, "insert_deliveries.sql"),
        {
            "ids": ids,
            "message_id": str(uuid.uuid4()),
            "kind": kind.value,
            "severity": severity,
            "channel": channel,
            "status": status,
            "http_status": http_status,
            "error": error,
            "silence_id": silence_id,
            "now": now,
        },
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_utc(moment: datetime) -> str:
    """A moment as `2026-03-02 08:00 UTC`, whatever time zone it came in (the session's, for timestamptz)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _fmt(moment: datetime | None) -> str:
    return format_utc(moment) if moment else "?"


def _fmt_delta(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h" if hours >= 1 else f"{delta.total_seconds() / 60:g} min"
