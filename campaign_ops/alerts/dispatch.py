"""The alert pipeline's one entry: `dispatch`, from "this is wrong" (or fine again) to messages delivered and
recorded, shared by every alert sensor and the CLI.

A caller (a sensor tick, `campaign-ops alerts test`) builds `Alert`s for what is wrong now and `Resolution`s /
`ResolveScope`s for what is fine again, and calls `dispatch`. Under a row lock on each alert's `alert_logs` row
(unique alert_type + alert_key) the policy decides (campaign_ops.alerts.policy: new incident, suppression,
reminder, escalation, acknowledgement, silence, resolution); here the messages are grouped, delivered through
the caller's notifier (Slack, or the log) and its pagers (SMS, PagerDuty: campaign_ops.alerts.channels decides
what pages, each with its own state) and recorded in alert_logs, alert_channel_states and alert_deliveries.

A failed delivery (HTTP error, 429, timeout, DNS) is recorded with the message still owed on that channel and the
time of its next attempt, the alert is written to the log, and any later dispatch retries it. After one failure
no further delivery is tried on that channel in the same dispatch: it is not hammered and a tick stays short; the
other channels go on.

Alerts of one `group` dispatched together become one message ("3 clients: …") while each keeps its own row.
Everything takes `now` from the caller, so tests drive the clock.
"""

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from campaign_ops.alerts import channels, incidents
from campaign_ops.alerts.channels import ChannelPlan
from campaign_ops.alerts.incidents import PlannedMessage
from campaign_ops.alerts.model import (
    Alert,
    DeliveryResult,
    LogSink,
    MessageItem,
    MessageKind,
    Notifier,
    OutgoingMessage,
    Resolution,
    ResolveScope,
    logger,
    notifier_secrets,
    severity_rank,
)
from campaign_ops.alerts.policy import AlertSettings, Silence, matching_silence, next_attempt, silenced_digest
from campaign_ops.alerts.rendering import format_utc_or_unknown, render_text
from campaign_ops.errors import mask_secrets
from campaign_ops.sqlfiles import load_sql


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
    paged: int = 0
    """Alerts delivered on a paging channel (SMS, PagerDuty); an alert paged on two channels counts twice."""
    paging_failed: int = 0
    held: int = 0
    """Messages held back by a root cause (processing paused)."""
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
        if self.held:
            parts.append(f"{self.held} held")
        if self.paged or self.paging_failed:
            parts.append(f"{self.paged} paged, {self.paging_failed} paging failed")
        if self.errors:
            parts.append(f"{len(self.errors)} error(s)")
        return ", ".join(parts)


def dispatch(
    conn: Connection,
    *,
    firing: Sequence[Alert] = (),
    resolutions: Sequence[Resolution] = (),
    resolve_scopes: Sequence[ResolveScope] = (),
    now: datetime,
    notifier: Notifier,
    pagers: Sequence[Notifier] = (),
    settings: AlertSettings | None = None,
    log: LogSink | None = None,
    retry_due: bool = True,
    held_types: frozenset[str] = frozenset(),
) -> DispatchReport:
    """Decide, deliver and record the given alerts (and retry owed messages that are due), then commit.

    `notifier` is the main channel (Slack, or the log), which gets every alert; `pagers` are the paging channels
    (SMS, PagerDuty), which get the alerts that page, each with its own delivery state (campaign_ops.alerts.channels).
    Each alert is decided under its row lock inside a savepoint: one bad alert is reported in `errors` and
    skipped, the rest go on. Delivery errors never raise; they are recorded and retried later.

    Messages about `held_types` (alerts that follow from a root cause said in its own alert, e.g. a pause) are
    held: observed and recorded, not delivered, so that they are said once the cause is gone.
    """
    settings = settings or AlertSettings()
    log = log or logger
    report = DispatchReport()
    paging = [p.channel for p in pagers]
    planned: list[PlannedMessage] = []
    paged: list[ChannelPlan] = []
    touched: set[int] = set()
    paging_touched: set[int] = set()
    try:
        silences = incidents.active_silences(conn, now)
        firing_keys: dict[str, set[str]] = {}
        unique = {(a.alert_type, a.key): a for a in firing}
        for type_key in sorted(unique):
            alert = unique[type_key]
            try:
                with conn.begin_nested():
                    state, decision, plan = incidents.observe(conn, alert, now, settings)
                    channel_plans = channels.observe(conn, state, alert, decision, now, settings, paging)
                report.observed += 1
                if decision.action == "suppressed":
                    report.suppressed += 1
                elif decision.action == "deferred":
                    report.deferred += 1
                touched.add(state.id)
                firing_keys.setdefault(alert.alert_type, set()).add(alert.key)
                if plan:
                    planned.append(plan)
                if channel_plans is not None:
                    paging_touched.add(state.id)
                    paged.extend(channel_plans)
            except Exception as exc:  # one bad alert must not stop the others
                report.errors.append(f"{alert.alert_type} {alert.key}: {mask_secrets(str(exc))}")
                log.error(f"alert {alert.alert_type} {alert.key} could not be processed: {mask_secrets(str(exc))}")

        ended: list[tuple[PlannedMessage, datetime | None]] = []
        for resolution in sorted(resolutions, key=lambda r: (r.alert_type, r.key)):
            if resolution.key in firing_keys.get(resolution.alert_type, set()):
                continue
            rows = incidents.lock_alert(conn, resolution.alert_type, resolution.key)
            plans, over = incidents.resolve(conn, rows, resolution.note, resolution.link, now)
            ended.extend(over)
            planned.extend(plans)
        for scope in resolve_scopes:
            rows = incidents.lock_open_alerts(conn, scope, firing_keys.get(scope.alert_type, set()))
            plans, over = incidents.resolve(conn, rows, scope.note, None, now)
            ended.extend(over)
            planned.extend(plans)
        report.resolved += len(ended)
        touched.update(message.row_id for message, _ in ended)
        paging_touched.update(message.row_id for message, _ in ended)
        paged.extend(channels.resolve(conn, ended, now, paging))

        if retry_due:
            owed, errors = incidents.owed_messages(conn, now, touched, settings)
            report.errors.extend(errors)
            report.retried += len(owed)
            planned.extend(owed)
            owed_paged, errors = channels.owed_messages(conn, now, paging_touched, settings, paging)
            report.errors.extend(errors)
            report.retried += len(owed_paged)
            paged.extend(owed_paged)
            # an ERROR raised once (a failed run) is not observed again: its page, if nobody acknowledged it
            due_pages, errors = channels.unacknowledged_pages(
                conn, now, paging_touched | {p.row_id for _, p in owed_paged}, settings, paging
            )
            report.errors.extend(errors)
            paged.extend(due_pages)

        if held_types:
            # owed from now on, every tick anew: said once the cause is gone, never "stuck in retry" meanwhile
            held = [(MAIN_CHANNEL, p) for p in planned if p.alert.alert_type in held_types]
            held += [(paging_channel(c), p) for c, p in paged if p.alert.alert_type in held_types]
            for records, plan in held:
                conn.execute(
                    load_sql(__file__, records.deferred),
                    {"ids": [plan.row_id], "kind": plan.kind.value, "now": now, "error": HELD, **records.params},
                )
            report.held = len(held)
            planned = [p for p in planned if p.alert.alert_type not in held_types]
            paged = [(c, p) for c, p in paged if p.alert.alert_type not in held_types]
        started = time.monotonic()
        # every channel's secrets, in every channel's texts: an answer may echo another channel's (a shared relay)
        secrets = tuple(s for n in (notifier, *pagers) for s in notifier_secrets(n))
        audible = _withhold_silenced(conn, planned, silences, now, log, report)
        _deliver(conn, audible, notifier, MAIN_CHANNEL, secrets, now, settings, log, report, started)
        for pager in pagers:
            plans = [p for c, p in paged if c == pager.channel and matching_silence(silences, p.alert) is None]
            _deliver(conn, plans, pager, paging_channel(pager.channel), secrets, now, settings, log, report, started)
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    return report


@dataclass(frozen=True)
class Records:
    """Where a channel's delivery state is recorded: alert_logs for the main channel, alert_channel_states for a
    paging channel."""

    delivered: str
    failed: str
    deferred: str
    params: dict[str, str]
    paging: bool


MAIN_CHANNEL = Records("record_delivered.sql", "record_failed.sql", "record_deferred.sql", {}, False)


def record_tick(conn: Connection, sensor_name: str, now: datetime, summary: str) -> None:
    """An alert sensor completed a tick (the alert pipeline's health check reads it: campaign_ops.oncall); commits."""
    conn.execute(load_sql(__file__, "record_tick.sql"), {"sensor_name": sensor_name, "now": now, "summary": summary})
    conn.commit()


def paging_channel(channel: str) -> Records:
    return Records("channel_delivered.sql", "channel_failed.sql", "channel_deferred.sql", {"channel": channel}, True)


def _withhold_silenced(
    conn: Connection,
    planned: Sequence[PlannedMessage],
    silences: Sequence[Silence],
    now: datetime,
    log: LogSink,
    report: DispatchReport,
) -> list[PlannedMessage]:
    """The messages no silence withholds; the withheld ones are recorded (once per change of what they say)."""
    audible: list[PlannedMessage] = []
    for plan in planned:
        silence = matching_silence(silences, plan.alert)
        if silence is None:
            audible.append(plan)
            continue
        report.silenced += 1
        digest = silenced_digest(plan.alert, plan.kind, plan.severity, silence)
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
            f"until {format_utc_or_unknown(silence.until)}"
        )
    return audible


def _deliver(
    conn: Connection,
    audible: Sequence[PlannedMessage],
    notifier: Notifier,
    records: Records,
    secrets: tuple[str, ...],
    now: datetime,
    settings: AlertSettings,
    log: LogSink,
    report: DispatchReport,
    started: float,
) -> None:
    """Deliver one channel's messages (a group of alerts as one message where the channel groups), and record
    each outcome in that channel's state and in alert_deliveries (masked with `secrets`)."""
    groups: dict[tuple[str, str], list[PlannedMessage]] = {}
    for plan in audible:
        whole = plan.alert.group if getattr(notifier, "groups", True) else None
        group = whole or f"{plan.alert.alert_type}|{plan.alert.key}"
        groups.setdefault((group, plan.kind.value), []).append(plan)

    first_failure: tuple[DeliveryResult, datetime] | None = None
    for (_, _), plans in sorted(groups.items(), key=lambda kv: -max(severity_rank(p.severity) for p in kv[1])):
        plans.sort(key=lambda p: p.alert.key)
        severity = max((p.severity for p in plans), key=severity_rank)
        message = OutgoingMessage(plans[0].kind, severity, tuple(MessageItem(p.alert, p.note) for p in plans))
        ids = [p.row_id for p in plans]
        attempts_before = max(p.attempts_before for p in plans)
        params = {"ids": ids, "kind": message.kind.value, "now": now, **records.params}
        if first_failure is None and time.monotonic() - started > settings.delivery_budget_seconds:
            budget = f"not attempted: this dispatch's delivery time ({settings.delivery_budget_seconds:g} s) ran out"
            conn.execute(load_sql(__file__, records.deferred), {**params, "error": budget})
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
                load_sql(__file__, records.delivered), {**params, "status": result.status, "severity": severity}
            )
            if records.paging:
                report.paged += len(ids)
            elif result.status == "sent":
                report.sent += len(ids)
            else:
                report.logged += len(ids)
        else:
            error = mask_secrets(result.error or "delivery failed", secrets)
            conn.execute(load_sql(__file__, records.failed), {**params, "error": error, "next_attempt_at": retry_at})
            if records.paging:
                report.paging_failed += len(ids)
            else:
                report.failed += len(ids)
            if first_failure is None:
                first_failure = (result, retry_at)
            # the alert still reaches a human reader: the log
            next_at = format_utc_or_unknown(retry_at)
            log.warning(
                f"[ALERT] {CHANNEL_NAMES.get(notifier.channel, 'Slack')} delivery failed ({error}); "
                f"recorded, next attempt at {next_at}\n" + mask_secrets(render_text(message), secrets)
            )
        error_text = mask_secrets(result.error, secrets) if result.error else None
        _insert_deliveries(
            conn, ids, message.kind, severity, result.channel, result.status, result.http_status, error_text, None, now
        )


HELD = "held: it follows from a root cause said in its own alert (processing paused)"

CHANNEL_NAMES = {"slack_webhook": "Slack", "slack_api": "Slack", "sms": "SMS", "pagerduty": "PagerDuty"}


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
