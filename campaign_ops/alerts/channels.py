"""The paging channels (SMS through Twilio, PagerDuty): which alerts reach them and each channel's own delivery
state, one alert_channel_states row per alert and channel.

Slack (or the log) gets every alert and keeps its state in alert_logs; a paging channel gets the alerts that page
(campaign_ops.alerts.policy.pages) and applies the same policy — new incident, suppression, reminder, escalation,
back-off, acknowledgement — to its own state, so that a failing SMS gateway is retried on its own schedule while
Slack goes on, and a Slack outage does not make the phone ring twice.

Every function runs under the caller's lock on the alert's alert_logs row (campaign_ops.alerts.incidents) and
returns the messages to deliver.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from campaign_ops.alerts.incidents import PlannedMessage, owed_message, stored_alert
from campaign_ops.alerts.model import Alert, MessageKind
from campaign_ops.alerts.policy import AlertSettings, AlertState, FiringDecision, decide_firing, pages
from campaign_ops.alerts.rendering import follow_up_note, format_duration, worse_note
from campaign_ops.sqlfiles import load_sql

PAGING_CHANNELS = ("sms", "pagerduty")
"""The paging channels' names (alert_channel_states.channel, alert_deliveries.channel)."""

ChannelPlan = tuple[str, PlannedMessage]
"""A message owed on one paging channel."""


def _channel_state(state: AlertState, active_since: datetime | None, row: Any | None) -> AlertState:
    """The policy's view of one channel: the incident from alert_logs, the deliveries from the channel's row (what
    it says about an earlier incident does not count)."""
    current = (
        row is not None
        and row["last_sent_at"] is not None
        and (active_since is None or row["last_sent_at"] >= active_since)
    )
    return AlertState(
        id=state.id,
        severity=state.severity,
        active_since=active_since,
        last_sent_at=row["last_sent_at"] if current and row else None,
        resolved_at=None,
        escalated_at=row["escalated_at"] if current and row else None,
        pending_kind=row["pending_kind"] if row else None,
        next_attempt_at=row["next_attempt_at"] if row else None,
        attempt_count=row["attempt_count"] if row else 0,
        last_sent_severity=row["last_sent_severity"] if current and row else None,
        acked_severity=state.acked_severity,
    )


def observe(
    conn: Connection,
    state: AlertState,
    alert: Alert,
    decision: FiringDecision,
    now: datetime,
    settings: AlertSettings,
    channels: Sequence[str],
) -> list[ChannelPlan] | None:
    """What one observation of a firing alert sends on each paging channel (`state` is its alert_logs row as it was
    before this observation); None when the alert does not page (a message still owed is then retried as any
    other, when due)."""
    if not channels:
        return None
    active_since = now if decision.new_incident else state.active_since
    if not pages(alert.alert_type, decision.severity, active_since, state.acked_severity is not None, now, settings):
        return None
    rows = {
        r["channel"]: r
        for r in conn.execute(
            load_sql(__file__, "lock_channel_states.sql"), {"id": state.id, "channels": list(channels)}
        ).mappings()
    }
    plans: list[ChannelPlan] = []
    for channel in channels:
        if decision.new_incident:
            plans.append((channel, PlannedMessage(state.id, alert, MessageKind.FIRING, decision.severity, None, 0)))
            continue
        channel_state = _channel_state(state, active_since, rows.get(channel))
        said = decide_firing(channel_state, alert, now, settings)
        if said.action != "send" or said.kind is None:
            continue
        note = follow_up_note(said.kind, alert, said.severity, active_since, settings)
        if said.worse_than is not None:
            note = worse_note(said.worse_than, said.severity, active_since)
        plans.append(
            (channel, PlannedMessage(state.id, alert, said.kind, said.severity, note, channel_state.attempt_count))
        )
    return plans


def resolve(
    conn: Connection, ended: Iterable[tuple[PlannedMessage, datetime | None]], now: datetime, channels: Sequence[str]
) -> list[ChannelPlan]:
    """Incidents that are over: nothing stays owed on the paging channels, and each channel that was told about
    the incident is told it is over (`ended`: the "resolved" message of each, with the incident's start)."""
    plans: list[ChannelPlan] = []
    if not channels:
        return plans
    for message, active_since in ended:
        told = conn.execute(
            load_sql(__file__, "end_channel_states.sql"),
            {"id": message.row_id, "channels": list(channels), "active_since": active_since, "now": now},
        ).mappings()
        plans.extend((r["channel"], message) for r in told if r["told"])
    return plans


def owed_messages(
    conn: Connection, now: datetime, skip_ids: Iterable[int], settings: AlertSettings, channels: Sequence[str]
) -> tuple[list[ChannelPlan], list[str]]:
    """Paging-channel messages whose delivery failed and whose next attempt is due, locked."""
    if not channels:
        return [], []
    rows = conn.execute(
        load_sql(__file__, "lock_due_channel_retries.sql"),
        {"now": now, "skip_ids": sorted(skip_ids), "channels": list(channels), "limit": settings.retry_batch},
    ).mappings()
    plans: list[ChannelPlan] = []
    errors: list[str] = []
    for row in rows:
        alert = stored_alert(row, errors)
        if alert is not None:
            plans.append((row["channel"], owed_message(row, alert, settings)))
    return plans, errors


def unacknowledged_pages(
    conn: Connection, now: datetime, skip_ids: Iterable[int], settings: AlertSettings, channels: Sequence[str]
) -> tuple[list[ChannelPlan], list[str]]:
    """Open ERRORs nobody acknowledged within `settings.ack_after` that a paging channel was not told about (but
    for the rows in `skip_ids`, decided by their observation), locked: their page."""
    if not channels:
        return [], []
    rows = conn.execute(
        load_sql(__file__, "lock_unacknowledged.sql"),
        {
            "now": now,
            "ack_seconds": settings.ack_after.total_seconds(),
            "skip_ids": sorted(skip_ids),
            "channels": list(channels),
            "limit": settings.retry_batch,
        },
    ).mappings()
    plans: list[ChannelPlan] = []
    errors: list[str] = []
    for row in rows:
        alert = stored_alert(row, errors)
        if alert is None:
            continue
        note = f"Not acknowledged for {format_duration(now - row['active_since'])}."
        message = PlannedMessage(row["id"], alert, MessageKind.FIRING, row["severity"], note, 0)
        plans.extend((channel, message) for channel in row["untold"])
    return plans, errors
