"""Seed 004's critical alerts that no asset check detects, as level-triggered conditions read each tick.

- POOL_EMPTY: no AVAILABLE number in the Twilio pool.
- REPEATED_FAILURE: the seed's "5 consecutive failures" applied to our own work, counted in passes — a client whose
  last 5 de-enrollment passes all failed, whatever their spacing, within a window of several sweep cadences (2 h).
- INVARIANT_VIOLATION: a completed lead is still active.

The others have one detector each, an asset check whose history the UI shows, and reach Slack through the asset
check alert sensor under the hardening report's names
(campaign_ops.alerts.check_alerts): STUCK_CLIENT and PAYMENT_BLOCK from
`stuck_onboarding_clients` (every 5 minutes), the schema contract's INVARIANT_VIOLATION from `schema_contract`.

They go through the alerts pipeline (campaign_ops.alerts): de-duplication, suppression, escalation, silences and
retries happen there. Several clients of one kind in one tick become ONE message ("3 clients stuck: …").
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import Connection

from campaign_ops import thresholds as sop
from campaign_ops.alerts.model import Alert, ResolveScope
from campaign_ops.alerts.rendering import format_utc
from campaign_ops.sqlfiles import load_sql

# CRITICAL_TYPES (seed 004's types) live with every other alert type in campaign_ops.alerts.model; STUCK_CLIENT,
# PAYMENT_BLOCK and the schema contract's INVARIANT_VIOLATION come from asset checks (campaign_ops.alerts.check_alerts).
_DETECTED_HERE = (
    ("POOL_EMPTY", "pool_empty"),
    ("REPEATED_FAILURE", "repeated_failure:"),
    ("INVARIANT_VIOLATION", "invariant:active_and_completed"),
)


@dataclass(frozen=True)
class CriticalSettings:
    repeated_failures: int = sop.REPEATED_FAILURES
    repeated_window_minutes: int = sop.REPEATED_FAILURE_WINDOW_MINUTES
    """The failed passes must fall within this window. Counted in passes, not minutes: scheduled passes come every
    15 minutes (5 of them span an hour), retries bunch up; 2 h is 8 cadences, so a client that fails on every
    scheduled pass is alerted after its 5th, and 5 failures scattered over a day are not "repeated"."""


def find_critical_alerts(conn: Connection, now: datetime, settings: CriticalSettings, ui_url: str) -> list[Alert]:
    """Every critical condition true now, as alerts (one per client or resource)."""
    alerts: list[Alert] = []
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
                client_name=f["company_name"],
                facts=(
                    ("Client", f"{f['company_name']} ({f['client_id']})" if f["company_name"] else f["client_id"]),
                    ("First failure", format_utc(f["first_failure_at"])),
                    ("Last failure", format_utc(f["last_failure_at"])),
                ),
                link=f"{ui_url}/assets/de_enrollment_runs?"
                + urlencode({"view": "partitions", "partition": f["client_id"]}),
                group="repeated_failure",
                group_title="{n} clients with repeated de-enrollment failures",
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
    """Every condition detected here is level-triggered: what does not fire this tick is resolved. Only the keys
    this sensor raises: INVARIANT_VIOLATION of the schema contract is the schema_contract check's."""
    return [ResolveScope(alert_type=t, key_prefix=p, note="condition no longer true") for t, p in _DETECTED_HERE]
