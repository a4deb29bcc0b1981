"""The alert policy: what to do with an alert, decided from its incident state, the clock and the silences.

Pure functions over values (no I/O); `campaign_ops.alerts.incidents` applies them under each alert's row lock.

- a **new incident** (first observation, or first since the last resolution) is sent;
- the same alert again inside the **suppression window** (default 6 h) is suppressed; after it, a reminder;
- a WARN (or MEDIUM) alert still failing **12 h** after its incident began is re-sent **once** as an escalation,
  at the next severity up;
- a **silence** in force withholds the message; it is recorded (delivery_status 'silenced'), not sent;
- an open incident that is fine again gets **one "resolved" message** if a message about it was delivered;
- a **failed delivery** (HTTP error, 429, timeout, DNS) leaves the message owed, with the time of the next
  attempt (Retry-After, else back-off);
- an **acknowledged** alert is neither reminded nor escalated until it gets worse than it was when acknowledged
  or the acknowledgement runs out;
- what **pages** the person on call (SMS, PagerDuty, besides Slack): the critical types and CRITICAL severity
  from their first message, an ERROR of a type the operator listed, and any other ERROR nobody acknowledged
  within `ack_after`.

Each channel applies these rules to its own delivery state: Slack's in alert_logs, each paging channel's in
alert_channel_states (campaign_ops.alerts.channels).
"""

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from campaign_ops.alerts.model import CRITICAL_TYPES, Alert, DeliveryResult, MessageKind, severity_rank

HELD_WHEN_PAUSED = frozenset({"NO_RECENT_SUCCESS", "REPEATED_FAILURE", "STUCK_LEADS", "RUN_FAILED", "RUN_PARTIAL"})
"""What a pause brings about by itself: no de-enrollment succeeds, refused runs fail, finished leads stay active."""

ESCALATES_TO: dict[str, str] = {"WARN": "ERROR", "MEDIUM": "HIGH"}
"""What a still-failing alert escalates to after `AlertSettings.escalation_after`
(the hardening report: MEDIUM → HIGH)."""


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
    sms_types: frozenset[str] = frozenset()
    """Alert types that page at ERROR from their first message, besides the critical ones (ALERT_SMS_TYPES)."""
    ack_after: timedelta = timedelta(minutes=30)
    """An ERROR nobody acknowledged for this long pages (ALERT_ACK_MINUTES)."""

    def __post_init__(self) -> None:
        if self.suppression <= timedelta(0) or self.escalation_after <= timedelta(0):
            raise ValueError("suppression window and escalation delay must be positive")


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
    acked_severity: str | None = None
    """An acknowledgement holds for this incident: the alert's severity when it was acknowledged."""

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> "AlertState":
        return cls(**{f: row[f] for f in cls.__dataclass_fields__ if f in row})

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
    acked = state.acked_severity is not None and severity_rank(severity) <= severity_rank(state.acked_severity)
    if (
        not acked
        and base in ESCALATES_TO
        and state.escalated_at is None
        and now - state.active_since >= settings.escalation_after
    ):
        return FiringDecision(False, "send", MessageKind.ESCALATION, ESCALATES_TO[base])
    if state.pending_kind is not None and state.pending_kind != MessageKind.RESOLVED:
        return FiringDecision(False, "send", MessageKind(state.pending_kind), severity)
    if acked:  # someone is on it: nothing more until it gets worse or the acknowledgement runs out
        return FiringDecision(False, "suppressed", None, severity)
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


def pages(
    alert_type: str, severity: str, active_since: datetime | None, acked: bool, now: datetime, settings: AlertSettings
) -> bool:
    """Whether an open alert (at its effective `severity`) goes to the paging channels too."""
    if alert_type in CRITICAL_TYPES or severity == "CRITICAL":
        return True
    if alert_type == "TEST":  # a test pages only when sent as critical (`alerts test --critical`)
        return False
    if severity_rank(severity) < severity_rank("ERROR"):
        return False
    if alert_type in settings.sms_types:
        return True
    return not acked and active_since is not None and now - active_since >= settings.ack_after


def next_attempt(now: datetime, attempts_before: int, result: DeliveryResult, settings: AlertSettings) -> datetime:
    """Retry-After when the channel gave one, else exponential back-off from `retry_backoff` to its maximum."""
    if result.retry_after is not None and result.retry_after > 0:
        return now + timedelta(seconds=result.retry_after)
    backoff = settings.retry_backoff * (2 ** min(attempts_before, 16))
    return now + min(backoff, settings.retry_backoff_max)


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


def matching_silence(silences: Sequence[Silence], alert: Alert) -> Silence | None:
    return next((s for s in silences if s.matches(alert)), None)


def silenced_digest(alert: Alert, kind: MessageKind, severity: str, silence: Silence) -> str:
    """What a silenced message is about: its kind, severity, the silence, and its text with the figures left out
    (a count or an age that moves every tick is the same incident; a new title, summary or severity is news)."""
    text = "\n".join((alert.title, alert.summary))
    parts = (kind.value, severity, str(silence.id), re.sub(r"\d+(?:[.,]\d+)*", "#", text))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
