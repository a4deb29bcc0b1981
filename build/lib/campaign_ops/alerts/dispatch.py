"""The alert pipeline's one entry: `dispatch`, from "this is wrong" (or fine again) to messages delivered and
recorded, shared by every alert sensor and the CLI.

A caller (a sensor tick, `campaign-ops alerts test`) builds `Alert`s for what is wrong now and `Resolution`s /
`ResolveScope`s for what is fine again, and calls `dispatch`. Under a row lock on each alert's `alert_logs` row
(unique alert_type + alert_key) the policy decides (campaign_ops.alerts.policy: new incident, suppression,
reminder, escalation, silence, resolution); here the messages are grouped, delivered through the caller's
notifier and recorded in alert_logs and alert_deliveries.

A failed delivery (HTTP error, 429, timeout, DNS) is recorded with the message still owed and the time of the
next attempt, the alert is written to the log, and any later dispatch retries it. After one failure no further
delivery is tried in the same dispatch: Slack is not hammered and a tick stays short.

Alerts of one `group` dispatched together become one message ("3 clients: …") while each keeps its own row.
Everything takes `now` from the caller, so tests drive the clock.
"""

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from campaign_ops.alerts import incidents
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
    planned: list[PlannedMessage] = []
    touched: set[int] = set()
    try:
        silences = incidents.active_silences(conn, now)
        firing_keys: dict[str, set[str]] = {}
        unique = {(a.alert_type, a.key): a for a in firing}
        for type_key in sorted(unique):
            alert = unique[type_key]
            try:
                with conn.begin_nested():
                    row_id, decision, plan = incidents.observe(conn, alert, now, settings)
                report.observed += 1
                if decision.action == "suppressed":
                    report.suppressed += 1
                elif decision.action == "deferred":
                    report.deferred += 1
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
            rows = incidents.lock_alert(conn, resolution.alert_type, resolution.key)
            resolved, plans = incidents.resolve(conn, rows, resolution.note, resolution.link, now)
            report.resolved += resolved
            for plan in plans:
                planned.append(plan)
                touched.add(plan.row_id)
        for scope in resolve_scopes:
            rows = incidents.lock_open_alerts(conn, scope, firing_keys.get(scope.alert_type, set()))
            touched.update(r["id"] for r in rows)
            resolved, plans = incidents.resolve(conn, rows, scope.note, None, now)
            report.resolved += resolved
            planned.extend(plans)

        if retry_due:
            owed, errors = incidents.owed_messages(conn, now, touched, settings)
            report.errors.extend(errors)
            report.retried += len(owed)
            planned.extend(owed)

        _deliver_planned(conn, planned, silences, now, notifier, settings, log, report)
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    return report


def _deliver_planned(
    conn: Connection,
    planned: Sequence[PlannedMessage],
    silences: Sequence[Silence],
    now: datetime,
    notifier: Notifier,
    settings: AlertSettings,
    log: LogSink,
    report: DispatchReport,
) -> None:
    secrets = notifier_secrets(notifier)
    # silences first: a silenced alert is recorded and leaves its group
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

    groups: dict[tuple[str, str], list[PlannedMessage]] = {}
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
            next_at = format_utc_or_unknown(retry_at)
            log.warning(
                f"[ALERT] Slack delivery failed ({error}); recorded, next attempt at {next_at}\n"
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
