"""Acknowledging an alert: someone is on it. Until the acknowledgement runs out, or the alert gets worse than it
was when acknowledged, no channel re-sends or escalates it, and an ERROR does not page (campaign_ops.alerts.policy).
An acknowledgement belongs to the incident it was given in: when the alert fires again after a resolution, it
is news again.

`campaign-ops alerts ack ID --by NAME [--for 2h] [--reason …]` and the UI's `acknowledge_alert_job` both call
`acknowledge`; every acknowledgement is a row of alert_acks (who, when, until when, why).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from campaign_ops.alerts.config import PagerDutyConfig
from campaign_ops.errors import ConfigError
from campaign_ops.sqlfiles import load_sql

DEFAULT_ACK = timedelta(hours=2)


class AlertNotOpenError(ConfigError):
    """An acknowledgement of an alert that does not exist or whose incident is over."""


@dataclass(frozen=True)
class Ack:
    id: int
    alert_id: int
    alert_type: str
    alert_key: str
    title: str | None
    severity: str
    acked_by: str
    acked_at: datetime
    until: datetime
    reason: str | None
    paged_on: tuple[str, ...] = ()
    """The paging channels told about the incident (PagerDuty is then told of the acknowledgement too)."""


def acknowledge(
    conn: Connection, alert_id: int, *, by: str, duration: timedelta, reason: str | None, now: datetime
) -> Ack:
    """Acknowledge the open alert `alert_id` (its number in `alerts list`) for `duration`; commits. Nothing is
    written when the alert does not exist or is not open."""
    if not by or not by.strip():
        raise ConfigError("--by: say who acknowledges (a name the others recognise)")
    if duration <= timedelta(0):
        raise ConfigError("an acknowledgement lasts more than zero")
    row = conn.execute(load_sql(__file__, "lock_alert_by_id.sql"), {"id": alert_id}).mappings().first()
    if row is None:
        conn.rollback()
        raise AlertNotOpenError(f"alert #{alert_id} does not exist (see `campaign-ops alerts list`)")
    if row["active_since"] is None or row["resolved_at"] is not None:
        conn.rollback()
        raise AlertNotOpenError(f"alert #{alert_id} ({row['alert_type']}) is not open: nothing to acknowledge")
    params = {
        "id": alert_id,
        "acked_by": by.strip(),
        "reason": reason.strip() if reason and reason.strip() else None,
        "severity": row["severity"],
        "now": now,
        "until": now + duration,
    }
    ack_id = conn.execute(load_sql(__file__, "insert_ack.sql"), params).scalar_one()
    paged_on = tuple(conn.execute(load_sql(__file__, "paged_channels.sql"), {"id": alert_id}).scalars())
    conn.commit()
    return Ack(
        id=ack_id,
        alert_id=alert_id,
        alert_type=row["alert_type"],
        alert_key=row["alert_key"],
        title=row["title"],
        severity=row["severity"],
        acked_by=params["acked_by"],
        acked_at=now,
        until=params["until"],
        reason=params["reason"],
        paged_on=paged_on,
    )


def tell_pagerduty(ack: Ack, config: PagerDutyConfig | None) -> str | None:
    """PagerDuty's incident about the alert acknowledged too (when it was triggered there): a line to show."""
    if config is None or "pagerduty" not in ack.paged_on:
        return None
    from campaign_ops.alerts.pagerduty import PagerDutyNotifier

    result = PagerDutyNotifier(config).acknowledge(ack.alert_key)
    if result.status == "sent":
        return "PagerDuty: incident acknowledged"
    return f"PagerDuty: not acknowledged there ({result.error}); acknowledge it in PagerDuty"
