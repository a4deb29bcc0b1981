"""The SOP's de-enrollment health check: per active client over the last 24 h (the de_enrollment_health view),
its success rate, failed runs, hours since the last success and average duration, each against its threshold.

The Dagster asset check (checks/defs.py) and the CLI (`campaign-ops health-check`) both call
`evaluate_de_enrollment_health`; each client's `line()` is the SOP's health-check line. Its thresholds are in
checks/core.py with the other checks' thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.check_kit.outcome import CheckOutcome, Figures, Level, worst
from campaign_ops.checks.core import HealthThresholds
from campaign_ops.clients.scope import resolve_scope
from campaign_ops.sqlfiles import load_sql


def _hours(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class ClientHealth:
    """One row of the de_enrollment_health view (last 24 h) judged against the thresholds."""

    client_id: str
    company_name: str
    total_runs_24h: int
    successful_runs_24h: int
    failed_runs_24h: int
    partial_runs_24h: int
    skipped_runs_24h: int
    success_rate_24h: float | None  # percent of runs that were not skipped; None without such runs
    avg_duration_ms_24h: float | None
    leads_de_enrolled_24h: int
    last_run_at: datetime | None
    last_success_at: datetime | None
    hours_since_success: float  # since the last success, or since the client was added if it never succeeded
    thresholds: HealthThresholds = field(default_factory=HealthThresholds)

    @property
    def problems(self) -> list[tuple[Level, str]]:
        t = self.thresholds
        found: list[tuple[Level, str]] = []
        if self.hours_since_success > t.hours_since_success_error_above:
            if self.last_success_at is None:
                found.append(
                    (Level.ERROR, f"has never run successfully (added {_hours(self.hours_since_success)} hours ago)")
                )
            else:
                found.append((Level.ERROR, f"hasn't run successfully in {_hours(self.hours_since_success)} hours"))
        if self.failed_runs_24h > t.failed_runs_warn_above:
            found.append((Level.WARN, f"has {self.failed_runs_24h} failed runs in 24h"))
        if self.success_rate_24h is not None and self.success_rate_24h < t.success_rate_warn_below_pct:
            judged = self.total_runs_24h - self.skipped_runs_24h
            found.append(
                (
                    Level.WARN,
                    f"has a success rate of {self.success_rate_24h:.2f}% in 24h "
                    f"({self.failed_runs_24h} failed, {self.partial_runs_24h} partial of {judged} runs)",
                )
            )
        if self.avg_duration_ms_24h is not None and self.avg_duration_ms_24h > t.avg_duration_warn_above_ms:
            found.append((Level.WARN, f"averages {self.avg_duration_ms_24h / 60000:.1f} min per run"))
        return found

    @property
    def level(self) -> Level:
        return worst([level for level, _ in self.problems])

    @property
    def label(self) -> str:
        return f"Client {self.company_name} ({self.client_id})"

    def line(self) -> str:
        """The SOP's health-check line: ✅/⚠️/❌ and what is wrong."""
        problems = self.problems
        if not problems:
            if self.total_runs_24h:
                detail = f"{self.total_runs_24h} runs"
                if self.success_rate_24h is not None:
                    detail += f", {self.success_rate_24h:.2f}% successful"
                return f"{Level.PASSED.icon} {self.label} processed successfully in last 24h ({detail})"
            added = _hours(self.hours_since_success)
            return f"{Level.PASSED.icon} {self.label} has no runs yet (added {added} hours ago)"
        return f"{self.level.icon} {self.label} " + "; ".join(text for _, text in problems)


@dataclass(frozen=True)
class HealthResult(CheckOutcome):
    thresholds: HealthThresholds
    clients: list[ClientHealth]
    name: str = "de_enrollment_health"

    @property
    def level(self) -> Level:
        return worst([c.level for c in self.clients])

    def count(self, level: Level) -> int:
        return sum(1 for c in self.clients if c.level == level)

    @property
    def summary(self) -> str:
        if not self.clients:
            return "no active client in scope"
        if self.level == Level.PASSED:
            return f"{Level.PASSED.icon} All {len(self.clients)} client(s) processed successfully in last 24h"
        return (
            f"{len(self.clients)} client(s): {self.count(Level.PASSED)} ✅, {self.count(Level.WARN)} ⚠️, "
            f"{self.count(Level.ERROR)} ❌"
        )

    def lines(self) -> list[str]:
        return [c.line() for c in self.clients]

    def figures(self) -> Figures:
        runs = sum(c.total_runs_24h for c in self.clients)
        successful = sum(c.successful_runs_24h for c in self.clients)
        judged = runs - sum(c.skipped_runs_24h for c in self.clients)
        figures: Figures = {
            "clients_checked": len(self.clients),
            "clients_ok": self.count(Level.PASSED),
            "clients_warn": self.count(Level.WARN),
            "clients_error": self.count(Level.ERROR),
            "runs_24h": runs,
            "successful_runs_24h": successful,
            "failed_runs_24h": sum(c.failed_runs_24h for c in self.clients),
            "partial_runs_24h": sum(c.partial_runs_24h for c in self.clients),
            "skipped_runs_24h": sum(c.skipped_runs_24h for c in self.clients),
            "leads_de_enrolled_24h": sum(c.leads_de_enrolled_24h for c in self.clients),
        }
        if judged:
            figures["success_rate_24h_pct"] = round(100.0 * successful / judged, 2)
        if self.clients:
            figures["max_hours_since_success"] = max(c.hours_since_success for c in self.clients)
        durations = [c.avg_duration_ms_24h for c in self.clients if c.avg_duration_ms_24h is not None]
        if durations:
            figures["max_avg_duration_ms_24h"] = round(max(durations), 1)
        return figures

    def tables(self) -> dict[str, str]:
        rows = [
            (
                c.level.icon,
                c.company_name,
                c.client_id,
                c.total_runs_24h,
                c.successful_runs_24h,
                c.failed_runs_24h,
                c.partial_runs_24h,
                c.success_rate_24h,
                c.avg_duration_ms_24h,
                c.hours_since_success,
            )
            for c in sorted(self.clients, key=lambda c: (-c.level.rank, c.company_name))
            if c.level != Level.PASSED
        ]
        headers = (
            "",
            "client",
            "id",
            "runs 24h",
            "successful",
            "failed",
            "partial",
            "success rate %",
            "avg duration ms",
            "hours since success",
        )
        return {"clients_needing_attention": markdown_table(headers, rows)}

    def client_findings(self) -> dict[str, dict[str, Any]]:
        return {
            c.client_id: {
                "level": c.level.value,
                "problems": [text for _, text in c.problems],
                "failed_runs_24h": c.failed_runs_24h,
                "partial_runs_24h": c.partial_runs_24h,
                "total_runs_24h": c.total_runs_24h,
                "success_rate_24h": c.success_rate_24h,
                "hours_since_success": c.hours_since_success,
                "avg_duration_ms_24h": c.avg_duration_ms_24h,
                # what a NO_RECENT_SUCCESS alert says (JSON metadata: text, in UTC)
                "last_success_at": _iso(c.last_success_at),
                "last_run_at": _iso(c.last_run_at),
            }
            for c in self.clients
            if c.level != Level.PASSED
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def evaluate_de_enrollment_health(
    conn: Connection, client_ids: Sequence[str] | None = None, thresholds: HealthThresholds | None = None
) -> HealthResult:
    """Per active client, from the de_enrollment_health view: success rate, failed runs, hours since the last
    success and average duration over 24 h, against the SOP's thresholds (applied per client)."""
    thresholds = thresholds or HealthThresholds()
    scope = resolve_scope(conn, client_ids)
    clients = [
        ClientHealth(
            client_id=r.client_id,
            company_name=r.company_name,
            total_runs_24h=int(r.total_runs_24h),
            successful_runs_24h=int(r.successful_runs_24h),
            failed_runs_24h=int(r.failed_runs_24h),
            partial_runs_24h=int(r.partial_runs_24h),
            skipped_runs_24h=int(r.skipped_runs_24h),
            success_rate_24h=_float_or_none(r.success_rate_24h),
            avg_duration_ms_24h=_float_or_none(r.avg_duration_ms_24h),
            leads_de_enrolled_24h=int(r.leads_de_enrolled_24h),
            last_run_at=r.last_run_at,
            last_success_at=r.last_success_at,
            hours_since_success=float(r.hours_since_success),
            thresholds=thresholds,
        )
        for r in conn.execute(load_sql(__file__, "de_enrollment_health.sql"), {"client_ids": scope})
    ]
    return HealthResult(thresholds=thresholds, clients=clients)
