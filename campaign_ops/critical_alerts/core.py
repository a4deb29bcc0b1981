"""Seed 004's critical alerts, as level-triggered conditions read from the database each tick.

- STUCK_CLIENT: an onboarding client HIGH and in a terminal state (S9_TEST_CALL over 24 h; S5_CONFIRM_LIVE with
  payment, waiting for the client's READY).
- PAYMENT_BLOCK: S5_CONFIRM_LIVE without payment for over 2 h.
- POOL_EMPTY: no AVAILABLE number in the Twilio pool.
- REPEATED_FAILURE: the seed's "5 consecutive failures" applied to our own work, counted in passes — a client whose
  last 5 de-enrollment passes all failed, whatever their spacing, within a window of several sweep cadences (2 h).
- INVARIANT_VIOLATION: the schema contract fails (`db verify`), or a completed lead is still active.

They go through the alerts pipeline (campaign_ops.alerts): de-duplication, suppression, escalation, silences and
retries happen there. Several clients of one kind in one tick become ONE message ("3 clients stuck: …").
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import Connection

from campaign_ops import thresholds as sop
from campaign_ops.alerts.core import Alert, ResolveScope, format_utc
from campaign_ops.db.verify import verify_schema
from campaign_ops.onboarding.core import detect_stuck_clients
from campaign_ops.sqlfiles import load_sql

CRITICAL_TYPES = ("STUCK_CLIENT", "PAYMENT_BLOCK", "POOL_EMPTY", "REPEATED_FAILURE", "INVARIANT_VIOLATION")
"""Their meanings are listed with every other alert type in campaign_ops.alerts.core.ALERT_TYPES."""


@dataclass(frozen=True)
class CriticalSettings:
    repeated_failures: int = sop.REPEATED_FAILURES
    repeated_window_minutes: int = sop.REPEATED_FAILURE_WINDOW_MINUTES
    """The failed passes must fall within this window. Counted in passes, not minutes: scheduled passes come every
    15 minutes (5 of them span an hour), retries bunch up; 2 h is 8 cadences, so a client that fails on every
    scheduled pass is alerted after its 5th, and 5 failures scattered over a day are not "repeated"."""


def _fmt_hours(minutes: float) -> str:
    return f"{minutes / 60:.1f} h"


def find_critical_alerts(conn: Connection, now: datetime, settings: CriticalSettings, ui_url: str) -> list[Alert]:
    """Every critical condition true now, as alerts (one per client or resource)."""
    alerts: list[Alert] = []
    report = detect_stuck_clients(conn, now=now, stamp=False)
    stuck_link = f"{ui_url}/assets/onboarding_states?{urlencode({'view': 'checks'})}"
    for c in report.clients:
        payment_blocked = c.state == "S5_CONFIRM_LIVE" and not c.payment_active
        where = (
            ("Client", f"{c.company_name} ({c.client_id})"),
            ("State", c.state),
            ("In state", f"{_fmt_hours(c.minutes_in_state)} (threshold {c.threshold_minutes} min)"),
        )
        if payment_blocked and c.minutes_in_state > sop.PAYMENT_BLOCK_HOURS * 60:
            alerts.append(
                Alert(
                    alert_type="PAYMENT_BLOCK",
                    key=f"payment_block:{c.client_id}",
                    severity="HIGH",
                    title=f"{c.company_name} blocked at S5_CONFIRM_LIVE without payment",
                    summary="Check the payment provider; once paid, set clients.payment_active and the client can "
                    "reply READY.",
                    client_id=c.client_id,
                    facts=where,
                    link=stuck_link,
                    group="payment_block",
                    group_title="{n} clients blocked at S5_CONFIRM_LIVE without payment",
                )
            )
        elif c.severity == "HIGH" and c.is_terminal:
            alerts.append(
                Alert(
                    alert_type="STUCK_CLIENT",
                    key=f"stuck_client:{c.client_id}",
                    severity="HIGH",
                    title=f"{c.company_name} stuck in {c.state} (needs a person)",
                    summary="A terminal onboarding state: the client will not move on without help. Call them.",
                    client_id=c.client_id,
                    facts=where,
                    link=stuck_link,
                    group="stuck_client",
                    group_title="{n} clients stuck in onboarding (terminal states)",
                )
            )

    pool = conn.execute(load_sql(__file__, "pool_available.sql")).one()
    if pool.available == 0:
        alerts.append(
            Alert(
                alert_type="POOL_EMPTY",
                key="pool_empty",
                severity="HIGH",
                title="No AVAILABLE number in the Twilio pool",
                summary="New clients cannot get a number. Add numbers: INSERT INTO twilio_number_pool (phone_e164, "
                "status) VALUES ('+…', 'AVAILABLE');",
                facts=(("Numbers in the pool", str(pool.total)), ("Available", "0")),
            )
        )

    failures = conn.execute(
        load_sql(__file__, "repeated_failures.sql"),
        {"now": now, "failures": settings.repeated_failures, "window_minutes": settings.repeated_window_minutes},
    ).mappings()
    for f in failures:
        alerts.append(
            Alert(
                alert_type="REPEATED_FAILURE",
                key=f"repeated_failure:de_enrollment:{f['client_id']}",
                severity="HIGH",
                title=f"{settings.repeated_failures} de-enrollment passes in a row failed for client {f['client_id']}",
                summary=f"Last error: {f['last_error'] or 'unknown'}",
                client_id=f["client_id"],
                facts=(
                    ("Client", f["client_id"]),
                    ("First failure", format_utc(f["first_failure_at"])),
                    ("Last failure", format_utc(f["last_failure_at"])),
                ),
                link=f"{ui_url}/assets/de_enrollment_runs?"
                + urlencode({"view": "partitions", "partition": f["client_id"]}),
                group="repeated_failure",
                group_title="{n} clients with repeated de-enrollment failures",
            )
        )

    missing = [f"{i.kind} {i.name}" for i in verify_schema(conn) if not i.ok]
    if missing:
        alerts.append(
            Alert(
                alert_type="INVARIANT_VIOLATION",
                key="invariant:schema_contract",
                severity="HIGH",
                title=f"Schema contract broken: {len(missing)} expected object(s) missing",
                summary="Missing: " + ", ".join(missing[:10]) + (" …" if len(missing) > 10 else ""),
                facts=(("Missing objects", str(len(missing))),),
            )
        )
    active_completed = conn.execute(load_sql(__file__, "active_and_completed.sql")).scalar_one()
    if active_completed:
        alerts.append(
            Alert(
                alert_type="INVARIANT_VIOLATION",
                key="invariant:active_and_completed",
                severity="HIGH",
                title=f"{active_completed} completed lead(s) still active",
                summary="A lead with completed_at is still is_active: de-enrollment's invariant is broken.",
                facts=(("Leads", str(active_completed)),),
            )
        )
    return alerts


def resolve_scopes() -> Sequence[ResolveScope]:
    """Every critical type is level-triggered: what does not fire this tick is resolved."""
    return [ResolveScope(alert_type=t, note="condition no longer true") for t in CRITICAL_TYPES]
