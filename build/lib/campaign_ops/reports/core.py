"""The SOP's operator reports: the morning health check (daily, 9 AM) and the weekly review (Monday, 10 AM).

Each report runs the SOP's own queries (copied verbatim into the .sql files beside this module) and returns a
dataclass with the figures; `markdown()` renders it the same way for the Dagster UI (asset metadata) and the
terminal (`campaign-ops report daily|weekly`). The SOP's "Expected Results" become a table of ✅/⚠️ verdicts.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from campaign_ops import thresholds as sop
from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.check_kit.outcome import Figures
from campaign_ops.clients import partition_keys
from campaign_ops.sqlfiles import load_sql

# SOP "Expected Results" of the morning health check (written once, in campaign_ops.thresholds)
EXPECTED_RUNS_PER_CLIENT = sop.EXPECTED_RUNS_PER_CLIENT
EXPECTED_RUNS_MET_AT = 0.9  # "~96": at least 90% of the expected runs (more, e.g. backfills, is fine)
EXPECTED_SUCCESS_RATE_ABOVE_PCT = sop.EXPECTED_SUCCESS_RATE_ABOVE_PCT
EXPECTED_FAILED_BELOW = sop.EXPECTED_FAILED_BELOW
EXPECTED_STUCK_BELOW = sop.EXPECTED_STUCK_BELOW
# SOP "Weekly Review": schedule maintenance if table sizes exceed 10GB
MAINTENANCE_TABLE_BYTES = 10 * 1024**3


@dataclass(frozen=True)
class ClientAlert:
    client_id: str
    client_name: str
    failed_runs_24h: int
    hours_since_success: float


@dataclass(frozen=True)
class DailyHealthReport:
    total_runs: int
    successful: int
    failed: int
    partial: int
    total_processed: int
    alerts: list[ClientAlert]
    stuck_count: int
    active_clients: int

    @property
    def success_rate_pct(self) -> float | None:
        """Successful runs out of all runs in 24 h (the SOP's "Success rate"), None without runs."""
        return round(100.0 * self.successful / self.total_runs, 2) if self.total_runs else None

    @property
    def expected_runs(self) -> int:
        return EXPECTED_RUNS_PER_CLIENT * self.active_clients

    def expectations(self) -> list[tuple[str, str, str, bool]]:
        """(metric, value, SOP expectation, met) for the SOP's "Expected Results"."""
        rate = self.success_rate_pct
        return [
            (
                "Total runs",
                str(self.total_runs),
                f"~{self.expected_runs} ({EXPECTED_RUNS_PER_CLIENT} per active client)",
                self.total_runs >= EXPECTED_RUNS_MET_AT * self.expected_runs,
            ),
            (
                "Success rate",
                "—" if rate is None else f"{rate:.2f}%",
                f">{EXPECTED_SUCCESS_RATE_ABOVE_PCT:g}%",
                rate is not None and rate > EXPECTED_SUCCESS_RATE_ABOVE_PCT,
            ),
            ("Failed runs", str(self.failed), f"<{EXPECTED_FAILED_BELOW}", self.failed < EXPECTED_FAILED_BELOW),
            ("Stuck leads", str(self.stuck_count), f"<{EXPECTED_STUCK_BELOW}", self.stuck_count < EXPECTED_STUCK_BELOW),
        ]

    @property
    def abnormal(self) -> bool:
        """Anything the SOP calls abnormal ("Action if abnormal: see Incident Response")."""
        return bool(self.alerts) or not all(met for *_, met in self.expectations())

    def figures(self) -> Figures:
        figures: Figures = {
            "total_runs": self.total_runs,
            "successful_runs": self.successful,
            "failed_runs": self.failed,
            "partial_runs": self.partial,
            "leads_processed": self.total_processed,
            "stuck_leads": self.stuck_count,
            "clients_alerting": len(self.alerts),
            "active_clients": self.active_clients,
        }
        if self.success_rate_pct is not None:
            figures["success_rate_pct"] = self.success_rate_pct
        return figures

    def tables(self) -> dict[str, str]:
        return {
            "overnight_runs": markdown_table(
                ("total runs", "successful", "failed", "partial", "leads processed"),
                [(self.total_runs, self.successful, self.failed, self.partial, self.total_processed)],
            ),
            "alerts": markdown_table(
                ("client", "id", "failed runs 24h", "hours since success"),
                [(a.client_name, a.client_id, a.failed_runs_24h, a.hours_since_success) for a in self.alerts],
            ),
            "stuck_leads_table": markdown_table(("stuck leads",), [(self.stuck_count,)]),
            "expected_results": markdown_table(
                ("", "metric", "value", "expected"),
                [("✅" if met else "⚠️", m, v, e) for m, v, e, met in self.expectations()],
            ),
        }

    def markdown(self) -> str:
        t = self.tables()
        verdict = "⚠️ Abnormal: see the SOP's Incident Response" if self.abnormal else "✅ Normal"
        return "\n\n".join(
            [
                f"# Morning health check — {verdict}",
                "## 1. Overnight runs (last 24 h)\n" + t["overnight_runs"],
                "## 2. Alerts (failed runs or no success in 2 h)\n" + t["alerts"],
                "## 3. Stuck leads\n" + t["stuck_leads_table"],
                "## Expected results\n" + t["expected_results"],
            ]
        )


def daily_health_report(conn: Connection) -> DailyHealthReport:
    """The SOP's morning health check: overnight runs, alerts, stuck leads."""
    runs = conn.execute(load_sql(__file__, "daily_overnight_runs.sql")).one()
    alert_rows = conn.execute(
        load_sql(__file__, "daily_alerts.sql"), {"hours_since_success_above": sop.HOURS_SINCE_SUCCESS_ERROR_ABOVE}
    ).all()
    names = partition_keys.client_names(conn, [str(r.client_id) for r in alert_rows])
    alerts = [
        ClientAlert(
            client_id=str(r.client_id),
            client_name=names.get(str(r.client_id), "?"),
            failed_runs_24h=int(r.failed_runs_24h),
            hours_since_success=float(r.hours_since_success),
        )
        for r in alert_rows
    ]
    return DailyHealthReport(
        total_runs=int(runs.total_runs),
        successful=int(runs.successful),
        failed=int(runs.failed),
        partial=int(runs.partial),
        total_processed=int(runs.total_processed or 0),
        alerts=alerts,
        stuck_count=int(conn.execute(load_sql(__file__, "daily_stuck_count.sql")).scalar_one()),
        active_clients=int(conn.execute(load_sql(__file__, "active_client_count.sql")).scalar_one()),
    )


@dataclass(frozen=True)
class DaySummary:
    date: date
    runs: int
    successful: int
    total_processed: int
    avg_duration_ms: int | None


@dataclass(frozen=True)
class ErrorSummary:
    error_details: str | None
    occurrences: int
    last_seen: datetime


@dataclass(frozen=True)
class WeeklyReviewReport:
    days: list[DaySummary]
    runs_table_size: str
    log_table_size: str
    runs_table_bytes: int
    log_table_bytes: int
    top_errors: list[ErrorSummary]

    @property
    def runs(self) -> int:
        return sum(d.runs for d in self.days)

    @property
    def successful(self) -> int:
        return sum(d.successful for d in self.days)

    @property
    def leads_processed(self) -> int:
        return sum(d.total_processed for d in self.days)

    @property
    def maintenance_needed(self) -> bool:
        return max(self.runs_table_bytes, self.log_table_bytes) > MAINTENANCE_TABLE_BYTES

    def figures(self) -> Figures:
        figures: Figures = {
            "runs_7d": self.runs,
            "successful_runs_7d": self.successful,
            "leads_processed_7d": self.leads_processed,
            "days_with_runs": len(self.days),
            "runs_table_bytes": self.runs_table_bytes,
            "log_table_bytes": self.log_table_bytes,
            "distinct_errors_top10": len(self.top_errors),
            "top_error_occurrences": self.top_errors[0].occurrences if self.top_errors else 0,
        }
        if self.runs:
            figures["success_rate_7d_pct"] = round(100.0 * self.successful / self.runs, 2)
        return figures

    def tables(self) -> dict[str, str]:
        return {
            "per_day": markdown_table(
                ("date", "runs", "successful", "leads processed", "avg duration ms"),
                [(d.date, d.runs, d.successful, d.total_processed, d.avg_duration_ms) for d in self.days],
            ),
            "table_sizes": markdown_table(
                ("table", "size", "bytes"),
                [
                    ("de_enrollment_runs", self.runs_table_size, self.runs_table_bytes),
                    ("de_enrollment_lead_log", self.log_table_size, self.log_table_bytes),
                ],
            ),
            "top_errors": markdown_table(
                ("error", "occurrences", "last seen"),
                [(e.error_details, e.occurrences, e.last_seen) for e in self.top_errors],
            ),
        }

    def markdown(self) -> str:
        t = self.tables()
        maintenance = (
            "⚠️ a monitoring table exceeds 10 GB: schedule maintenance"
            if self.maintenance_needed
            else "✅ below the 10 GB maintenance line"
        )
        return "\n\n".join(
            [
                "# Weekly review",
                "## 1. Weekly performance summary (last 7 days)\n" + t["per_day"],
                f"## 2. Database growth — {maintenance}\n" + t["table_sizes"],
                "## 3. Top errors (last 7 days)\n" + t["top_errors"],
            ]
        )


def weekly_review_report(conn: Connection) -> WeeklyReviewReport:
    """The SOP's weekly review: per-day performance, monitoring table sizes, top errors."""
    days = [
        DaySummary(
            date=r.date,
            runs=int(r.runs),
            successful=int(r.successful),
            total_processed=int(r.total_processed or 0),
            avg_duration_ms=None if r.avg_duration_ms is None else int(r.avg_duration_ms),
        )
        for r in conn.execute(load_sql(__file__, "weekly_performance.sql"))
    ]
    sizes = conn.execute(load_sql(__file__, "weekly_table_growth.sql")).one()
    size_bytes = conn.execute(load_sql(__file__, "table_size_bytes.sql")).one()
    errors = [
        ErrorSummary(error_details=r.error_details, occurrences=int(r.occurrences), last_seen=r.last_seen)
        for r in conn.execute(load_sql(__file__, "weekly_top_errors.sql"))
    ]
    return WeeklyReviewReport(
        days=days,
        runs_table_size=sizes.runs_table_size,
        log_table_size=sizes.log_table_size,
        runs_table_bytes=int(size_bytes.runs_table_bytes),
        log_table_bytes=int(size_bytes.log_table_bytes),
        top_errors=errors,
    )
