"""Stuck onboarding clients (the hardening report): which clients stayed too long in an onboarding state, and how badly.

The pipeline's states, their default thresholds (30 min to 24 h) and the reason for each live in one place, the
`onboarding_pipeline_states` table (sql/0026); a caller may override thresholds per state. Severity says how far
past its threshold a client is: LOW under 2×, MEDIUM under 4×, HIGH beyond — and HIGH at once in a terminal state
(S5_CONFIRM_LIVE, S9_TEST_CALL), where nobody moves on without a person.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.check_kit.outcome import CheckOutcome, Level
from campaign_ops.errors import ConfigError
from campaign_ops.sqlfiles import load_sql

SEVERITIES = ("LOW", "MEDIUM", "HIGH")
MIN_THRESHOLD_MINUTES, MAX_THRESHOLD_MINUTES = 30, 24 * 60


@dataclass(frozen=True)
class PipelineState:
    state: str
    position: int
    default_threshold_minutes: int | None
    is_terminal: bool
    threshold_reason: str


def pipeline_states(conn: Connection) -> list[PipelineState]:
    return [PipelineState(*row) for row in conn.execute(load_sql(__file__, "pipeline_states.sql"))]


def validate_thresholds(conn: Connection, overrides: dict[str, int]) -> dict[str, int]:
    """Overrides must name known states and stay within 30 min .. 24 h."""
    known = {s.state for s in pipeline_states(conn)}
    for state, minutes in overrides.items():
        if state not in known:
            raise ConfigError(f"unknown onboarding state {state!r}; known: {', '.join(sorted(known))}")
        if not MIN_THRESHOLD_MINUTES <= minutes <= MAX_THRESHOLD_MINUTES:
            raise ConfigError(f"threshold of {state} must be 30..1440 minutes, got {minutes}")
    return overrides


def severity_of(minutes_in_state: float, threshold_minutes: int, is_terminal: bool) -> str:
    if is_terminal:
        return "HIGH"
    ratio = minutes_in_state / threshold_minutes
    return "LOW" if ratio < 2 else "MEDIUM" if ratio < 4 else "HIGH"


@dataclass(frozen=True)
class StuckClient:
    client_id: str
    company_name: str
    state: str
    state_entered_at: datetime
    minutes_in_state: float
    threshold_minutes: int
    severity: str
    is_terminal: bool
    payment_active: bool
    stuck_detected_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "companyName": self.company_name,
            "state": self.state,
            "stateEnteredAt": self.state_entered_at.isoformat(),
            "minutesInState": round(self.minutes_in_state, 1),
            "thresholdMinutes": self.threshold_minutes,
            "severity": self.severity,
            "isTerminal": self.is_terminal,
            "paymentActive": self.payment_active,
            "stuckDetectedAt": self.stuck_detected_at.isoformat() if self.stuck_detected_at else None,
        }


@dataclass(frozen=True)
class StuckClientsReport(CheckOutcome):
    name: str = "stuck_onboarding_clients"
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    clients: list[StuckClient] = field(default_factory=list)

    def filtered(self, *, severity: str | None = None, terminal_only: bool = False) -> "StuckClientsReport":
        kept = [
            c
            for c in self.clients
            if (severity is None or c.severity == severity) and (c.is_terminal or not terminal_only)
        ]
        return StuckClientsReport(name=self.name, timestamp=self.timestamp, clients=kept)

    @property
    def by_state(self) -> dict[str, int]:
        return dict(Counter(c.state for c in self.clients))

    @property
    def by_severity(self) -> dict[str, int]:
        counts = Counter(c.severity for c in self.clients)
        return {s: counts.get(s, 0) for s in SEVERITIES}

    @property
    def level(self) -> Level:
        if not self.clients:
            return Level.PASSED
        return Level.ERROR if self.by_severity["HIGH"] else Level.WARN

    @property
    def summary(self) -> str:
        if not self.clients:
            return "no onboarding client is stuck"
        sev = ", ".join(f"{n} {s}" for s, n in self.by_severity.items() if n)
        return f"{len(self.clients)} onboarding client(s) stuck ({sev})"

    def figures(self) -> dict[str, int | float]:
        figures: dict[str, int | float] = {"stuck_clients": len(self.clients)}
        figures.update({f"severity_{s.lower()}": n for s, n in self.by_severity.items()})
        figures["terminal"] = sum(1 for c in self.clients if c.is_terminal)
        return figures

    def tables(self) -> dict[str, str]:
        if not self.clients:
            return {}
        rows = [
            (
                c.company_name,
                c.client_id,
                c.state,
                c.severity,
                "yes" if c.is_terminal else "no",
                f"{c.minutes_in_state / 60:.1f} h",
                f"{c.threshold_minutes} min",
            )
            for c in self.clients
        ]
        by_state = [(state, n) for state, n in sorted(self.by_state.items())]
        return {
            "stuck_clients_table": markdown_table(
                ["client", "id", "state", "severity", "terminal", "in state", "threshold"], rows
            ),
            "by_state": markdown_table(["state", "clients"], by_state),
        }

    def client_findings(self) -> dict[str, dict[str, Any]]:
        return {c.client_id: c.as_json() for c in self.clients}

    def as_json(self) -> dict[str, Any]:
        """Seed 004's shape: timestamp, total, byState, bySeverity, clients."""
        return {
            "timestamp": self.timestamp.isoformat(),
            "total": len(self.clients),
            "byState": self.by_state,
            "bySeverity": self.by_severity,
            "clients": [c.as_json() for c in self.clients],
        }


def detect_stuck_clients(
    conn: Connection,
    *,
    now: datetime | None = None,
    thresholds: dict[str, int] | None = None,
    stamp: bool = True,
) -> StuckClientsReport:
    """Find stuck clients; with `stamp`, set stuck_detected_at once per state (idempotent) in the caller's
    transaction."""
    now = now or datetime.now(UTC)
    overrides = validate_thresholds(conn, thresholds or {})
    rows = conn.execute(
        load_sql(__file__, "stuck_clients.sql"), {"now": now, "thresholds": json.dumps(overrides)}
    ).mappings()
    clients = []
    for r in rows:
        clients.append(
            StuckClient(
                client_id=r["client_id"],
                company_name=r["company_name"],
                state=r["state"],
                state_entered_at=r["state_entered_at"],
                minutes_in_state=float(r["minutes_in_state"]),
                threshold_minutes=r["threshold_minutes"],
                severity=severity_of(float(r["minutes_in_state"]), r["threshold_minutes"], r["is_terminal"]),
                is_terminal=r["is_terminal"],
                payment_active=r["payment_active"],
                stuck_detected_at=r["stuck_detected_at"],
            )
        )
    # worst first: severity, then how far past the threshold
    clients.sort(key=lambda c: (SEVERITIES.index(c.severity), c.minutes_in_state / c.threshold_minutes), reverse=True)
    if stamp and clients:
        conn.execute(load_sql(__file__, "stamp_stuck.sql"), {"now": now, "client_ids": [c.client_id for c in clients]})
    return StuckClientsReport(name="stuck_onboarding_clients", timestamp=now, clients=clients)
