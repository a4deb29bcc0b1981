"""The values the alert pipeline passes around: what is wrong (`Alert`), what is fine again (`Resolution`,
`ResolveScope`), the message about them (`OutgoingMessage`) and what a channel made of it (`DeliveryResult`).

Pure data, no I/O: the rules build these, the policy decides over them, rendering turns them into text and the
notifiers deliver them.
"""

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

logger = logging.getLogger("campaign_ops.alerts")
"""Where the pipeline logs when its caller gives it no log (a sensor gives its tick's)."""

SEVERITIES: tuple[str, ...] = ("INFO", "LOW", "WARN", "MEDIUM", "ERROR", "HIGH", "CRITICAL")
"""Ordered from least to most severe (alert_logs accepts the SOP's INFO/WARN/ERROR/CRITICAL and the hardening report's
LOW/MEDIUM/HIGH)."""

ALERT_TYPES: dict[str, str] = {
    "RUN_FAILED": "a run of a campaign-ops job failed",
    "RUN_PARTIAL": "a run left clients partial or failed in de_enrollment_runs",
    "CHECK_FAILED": "an asset check found something about a client (or could not run)",
    "NO_RECENT_SUCCESS": "de_enrollment_health: no successful de-enrollment for a client within the allowed hours",
    "STUCK_LEADS": "stuck_leads over every client: stuck leads above the WARN or the ERROR line",
    "TEST": "a test alert sent by `campaign-ops alerts test`",
    # the hardening report's critical alerts (stuck_onboarding_clients and schema_contract checks,
    # campaign_ops/critical_alerts)
    "STUCK_CLIENT": "stuck_onboarding_clients: an onboarding client stuck HIGH in a terminal state",
    "PAYMENT_BLOCK": "stuck_onboarding_clients: an onboarding client in S5_CONFIRM_LIVE without payment",
    "POOL_EMPTY": "no AVAILABLE number in the Twilio number pool",
    "REPEATED_FAILURE": "a client's last 5 de-enrollment passes all failed (within a few sweep cadences)",
    "INVARIANT_VIOLATION": "schema_contract failed, or a completed lead is still active",
    # the alert pipeline about itself and the root causes that hold other alerts back (campaign_ops/oncall)
    "ALERT_PIPELINE": "an alert sensor stopped ticking, or deliveries are stuck in retry: alerts may not arrive",
    "DATABASE_UNREACHABLE": "the application database cannot be reached: no alert about the data can be raised",
    "PROCESSING_PAUSED": "processing is paused: alerts that follow from it are held until it resumes",
}
"""Every alert type and what it means (silences name these; onboarding and lifecycle add their own here)."""

CRITICAL_TYPES: tuple[str, ...] = (
    "STUCK_CLIENT",
    "PAYMENT_BLOCK",
    "POOL_EMPTY",
    "REPEATED_FAILURE",
    "INVARIANT_VIOLATION",
)
"""The hardening report's critical alerts: they page the person on call (SMS, PagerDuty) from their first message."""


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def utc_now() -> datetime:
    """The clock the sensors and the CLI read by default (the pipeline itself takes `now` from its caller)."""
    return datetime.now(UTC)


class MessageKind(StrEnum):
    FIRING = "firing"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    RESOLVED = "resolved"


DeliveryStatus = Literal["sent", "logged", "failed"]


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
    client_name: str | None = None
    """The client's name, where the rule knows it (an SMS names the client, not its id)."""

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
            "client_name": self.client_name,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any] | None, row: Mapping[Any, Any]) -> "Alert":
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
            client_name=p.get("client_name"),
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
