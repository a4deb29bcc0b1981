"""Silences (the hardening report's "silence all alerts temporarily", made durable and narrower): create, list, lift.

A silence is a row in alert_silences: optional alert type, optional client, an end time, who and why. Every
sensor's dispatch reads the silences in force and records a silenced alert instead of sending it.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from campaign_ops.alerts.model import ALERT_TYPES
from campaign_ops.clients.partition_keys import client_names, parse_uuid
from campaign_ops.errors import ConfigError, UnknownClientError
from campaign_ops.sqlfiles import load_sql

MAX_SILENCE = timedelta(days=30)
# ASCII digits only (\d takes fullwidth and other scripts' digits), at most 6 each: longer is over 30 days anyway,
# and int() of thousands of digits is refused by Python itself
_DURATION = re.compile(r"^(?:([0-9]{1,6})d)?(?:([0-9]{1,6})h)?(?:([0-9]{1,6})m)?(?:([0-9]{1,6})s)?$")


class SilenceNotActiveError(ConfigError):
    """`alerts unsilence ID` for a silence that does not exist or is no longer in force."""


@dataclass(frozen=True)
class SilenceRow:
    id: int
    alert_type: str | None
    client_id: str | None
    company_name: str | None
    starts_at: datetime
    until: datetime
    created_by: str
    reason: str | None
    created_at: datetime
    lifted_at: datetime | None
    lifted_by: str | None

    def state(self, now: datetime) -> str:
        if self.lifted_at is not None:
            return f"lifted by {self.lifted_by}"
        if self.until <= now:
            return "expired"
        return "active" if self.starts_at <= now else "scheduled"


@dataclass(frozen=True)
class OpenAlert:
    id: int
    alert_type: str
    alert_key: str
    severity: str
    resource_id: str | None
    title: str | None
    active_since: datetime
    last_seen_at: datetime | None
    last_sent_at: datetime | None
    delivery_status: str
    send_count: int
    pending_kind: str | None
    next_attempt_at: datetime | None
    last_error: str | None
    acked_by: str | None = None
    acked_until: datetime | None = None
    paging: str | None = None
    """What the paging channels did (`sms paged; pagerduty failing (2x): …`)."""


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `1d`, `1h30m`, `90s` → timedelta; ConfigError for anything else, zero, or over 30 days."""
    match = _DURATION.match(text.strip().lower()) if text else None
    if not match or not any(match.groups()):
        raise ConfigError(f"--for: expected a duration like 30m, 2h, 1d or 1h30m, got {text!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if duration <= timedelta(0):
        raise ConfigError("--for: the duration must be longer than zero")
    if duration > MAX_SILENCE:
        raise ConfigError(f"--for: at most {MAX_SILENCE.days}d; a longer silence is a muted alert, fix or remove it")
    return duration


def normalise_alert_type(alert_type: str | None) -> str | None:
    if alert_type is None:
        return None
    upper = alert_type.strip().upper()
    if upper not in ALERT_TYPES:
        raise ConfigError(f"unknown alert type {alert_type!r}; known: {', '.join(sorted(ALERT_TYPES))}")
    return upper


def create_silence(
    conn: Connection,
    *,
    duration: timedelta,
    now: datetime,
    created_by: str,
    alert_type: str | None = None,
    client_id: str | None = None,
    reason: str | None = None,
) -> SilenceRow:
    """Validate everything first (type, client, duration), then insert; commits."""
    alert_type = normalise_alert_type(alert_type)
    if client_id is not None:
        client_id = parse_uuid(client_id)
        if client_id not in client_names(conn, [client_id]):
            raise UnknownClientError(f"unknown client id: {client_id}")
    if duration <= timedelta(0) or duration > MAX_SILENCE:
        raise ConfigError(f"a silence lasts more than zero and at most {MAX_SILENCE.days} days")
    silence_id = conn.execute(
        load_sql(__file__, "insert_silence.sql"),
        {
            "alert_type": alert_type,
            "client_id": client_id,
            "now": now,
            "until": now + duration,
            "created_by": created_by,
            "reason": reason,
        },
    ).scalar_one()
    conn.commit()
    return next(s for s in list_silences(conn, now=now, include_ended=True, limit=1_000) if s.id == silence_id)


def list_silences(conn: Connection, *, now: datetime, include_ended: bool = False, limit: int = 50) -> list[SilenceRow]:
    rows = conn.execute(
        load_sql(__file__, "list_silences.sql"), {"now": now, "include_ended": include_ended, "limit": limit}
    ).mappings()
    return [SilenceRow(**r) for r in rows]


def lift_silences(conn: Connection, *, now: datetime, lifted_by: str, ids: list[int] | None = None) -> list[int]:
    """End the given silences (or every one in force when `ids` is None) now; commits. A given id that does not
    exist or is not in force is an error and nothing is lifted."""
    if ids is not None:
        for silence_id in ids:
            row = conn.execute(load_sql(__file__, "silence_by_id.sql"), {"id": silence_id}).mappings().first()
            if row is None:
                raise SilenceNotActiveError(f"silence #{silence_id} does not exist")
            if row["lifted_at"] is not None or row["until"] <= now:
                raise SilenceNotActiveError(f"silence #{silence_id} is not in force (expired or already lifted)")
    lifted = list(
        conn.execute(
            load_sql(__file__, "lift_silences.sql"), {"now": now, "lifted_by": lifted_by, "ids": ids}
        ).scalars()
    )
    conn.commit()
    return sorted(lifted)


def open_alerts(conn: Connection, now: datetime, limit: int = 100) -> list[OpenAlert]:
    rows = conn.execute(load_sql(__file__, "open_alerts.sql"), {"limit": limit, "now": now}).mappings()
    return [OpenAlert(**r) for r in rows]
