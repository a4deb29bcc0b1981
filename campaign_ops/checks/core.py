"""Integrity and health checks: the SOP's verification queries as plain functions over a connection.

Each `evaluate_*` function runs its check over the given clients (or, with `client_ids=None`, every active
client: leads of inactive clients are left alone by design, so they are not reported as stuck) and returns a
small result with the figures, a level (passed / warn / error) and markdown tables. The Dagster asset checks
(checks/defs.py) and the CLI (`campaign-ops health-check`, `campaign-ops check`) both call these functions.

Thresholds default to the SOP's "Monitoring & Health Checks" table, written once in campaign_ops.thresholds. A
query that cannot run raises (SQLAlchemy or DatabaseUnavailableError): callers turn that into an error, never into
"passed".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from campaign_ops import thresholds as sop
from campaign_ops.clients.scope import resolve_scope
from campaign_ops.db.verify import VerifyItem, verify_schema
from campaign_ops.errors import ConfigError, mask_secrets
from campaign_ops.sqlfiles import load_sql

DEFAULT_STATEMENT_TIMEOUT_MS = 60_000


class Level(StrEnum):
    PASSED = "passed"
    WARN = "warn"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"passed": 0, "warn": 1, "error": 2}[self.value]

    @property
    def icon(self) -> str:
        return {"passed": "✅", "warn": "⚠️", "error": "❌"}[self.value]


def worst(levels: Sequence[Level]) -> Level:
    return max(levels, key=lambda level: level.rank, default=Level.PASSED)


def level_for(value: float, *, warn_above: float, error_above: float) -> Level:
    """ERROR when value > error_above, WARN when value > warn_above, else PASSED (boundaries pass)."""
    if value > error_above:
        return Level.ERROR
    if value > warn_above:
        return Level.WARN
    return Level.PASSED


# --- thresholds (defaults: campaign_ops.thresholds, the SOP's lines written once) ------------------------------


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class StuckLeadsThresholds:
    warn_above: int = sop.STUCK_LEADS_WARN_ABOVE
    error_above: int = sop.STUCK_LEADS_ERROR_ABOVE
    sample_size: int = 20

    def __post_init__(self) -> None:
        _require(0 <= self.warn_above <= self.error_above, f"stuck leads: need 0 <= warn_above <= error_above: {self}")
        _require(1 <= self.sample_size <= 1000, f"stuck leads: sample_size must be 1..1000, got {self.sample_size}")


@dataclass(frozen=True)
class StatsDriftThresholds:
    warn_above: int = sop.STATS_DRIFT_WARN_ABOVE
    error_above: int = sop.STATS_DRIFT_ERROR_ABOVE
    sample_size: int = 20

    def __post_init__(self) -> None:
        _require(0 <= self.warn_above <= self.error_above, f"stats drift: need 0 <= warn_above <= error_above: {self}")
        _require(1 <= self.sample_size <= 1000, f"stats drift: sample_size must be 1..1000, got {self.sample_size}")


@dataclass(frozen=True)
class DuplicateThresholds:
    error_above: int = sop.DUPLICATES_ERROR_ABOVE
    sample_size: int = 20

    def __post_init__(self) -> None:
        _require(self.error_above >= 0, f"duplicates: error_above must be >= 0, got {self.error_above}")
        _require(1 <= self.sample_size <= 1000, f"duplicates: sample_size must be 1..1000, got {self.sample_size}")


@dataclass(frozen=True)
class HealthThresholds:
    success_rate_warn_below_pct: float = sop.SUCCESS_RATE_WARN_BELOW_PCT
    failed_runs_warn_above: int = sop.FAILED_RUNS_WARN_ABOVE
    hours_since_success_error_above: float = sop.HOURS_SINCE_SUCCESS_ERROR_ABOVE
    avg_duration_warn_above_ms: int = sop.AVG_DURATION_WARN_ABOVE_MS

    def __post_init__(self) -> None:
        _require(0 <= self.success_rate_warn_below_pct <= 100, f"health: success rate must be 0..100: {self}")
        _require(self.failed_runs_warn_above >= 0, f"health: failed_runs_warn_above must be >= 0: {self}")
        _require(self.hours_since_success_error_above > 0, f"health: hours_since_success must be > 0: {self}")
        _require(self.avg_duration_warn_above_ms > 0, f"health: avg_duration_warn_above_ms must be > 0: {self}")


# --- transaction ---------------------------------------------------------------------------------------------


@contextmanager
def read_only_snapshot(conn: Connection, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS) -> Iterator[None]:
    """A read-only, repeatable-read transaction with a statement timeout, rolled back at the end.

    One snapshot keeps a check's figures consistent with each other (a count and its sample); the timeout makes
    a check on a locked or overloaded database end with an error instead of hanging its run.
    """
    _require(statement_timeout_ms > 0, f"statement_timeout_ms must be positive, got {statement_timeout_ms}")
    transaction = conn.begin()
    try:
        conn.execute(load_sql(__file__, "read_only_snapshot.sql"), {"statement_timeout": str(statement_timeout_ms)})
        yield
    finally:
        transaction.rollback()


# --- results -------------------------------------------------------------------------------------------------------

Figures = dict[str, int | float]


def error_reason(exc: BaseException) -> str:
    """One line saying why a query could not run, without credentials."""
    message = str(getattr(exc, "orig", None) or exc)  # the driver's message, without SQLAlchemy's SQL echo
    line = (message.strip().splitlines() or [type(exc).__name__])[0]
    return mask_secrets(line)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:.2f}"
        if isinstance(value, datetime):
            return value.isoformat(timespec="seconds")
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)
    return "\n".join(lines)


class CheckOutcome:
    """What every check result offers its callers (Dagster metadata, CLI lines, alerts)."""

    name: str

    @property
    def level(self) -> Level:
        raise NotImplementedError

    @property
    def summary(self) -> str:
        raise NotImplementedError

    def figures(self) -> Figures:
        """Numeric figures: the UI plots each one's trend across evaluations."""
        raise NotImplementedError

    def tables(self) -> dict[str, str]:
        """Markdown tables for the UI and the terminal."""
        return {}

    def client_findings(self) -> dict[str, dict[str, Any]]:
        """Per client with a finding: its figures and level (what a sweep's one evaluation says per client)."""
        return {}


# stuck leads ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StuckLead:
    lead_id: str
    client_id: str
    client_name: str
    campaign_id: str
    campaign_name: str
    position: int
    sequence_length: int


@dataclass(frozen=True)
class StuckLeadsResult(CheckOutcome):
    thresholds: StuckLeadsThresholds
    by_client: dict[str, int]
    sample: list[StuckLead]
    name: str = "stuck_leads"

    @property
    def total(self) -> int:
        return sum(self.by_client.values())

    @property
    def level(self) -> Level:
        return level_for(self.total, warn_above=self.thresholds.warn_above, error_above=self.thresholds.error_above)

    @property
    def summary(self) -> str:
        t = self.thresholds
        return (
            f"{self.total} stuck lead(s) in {len(self.by_client)} client(s) "
            f"(warn above {t.warn_above}, error above {t.error_above})"
        )

    def figures(self) -> Figures:
        return {"stuck_leads": self.total, "clients_with_stuck_leads": len(self.by_client)}

    def tables(self) -> dict[str, str]:
        rows = [(s.lead_id, s.client_name, s.campaign_name, s.position, s.sequence_length) for s in self.sample]
        return {"stuck_leads_sample": markdown_table(("id", "client", "campaign", "position", "sequence length"), rows)}

    def client_findings(self) -> dict[str, dict[str, Any]]:
        t = self.thresholds
        return {
            client: {"stuck_leads": n, "level": level_for(n, warn_above=t.warn_above, error_above=t.error_above).value}
            for client, n in sorted(self.by_client.items())
        }


def evaluate_stuck_leads(
    conn: Connection, client_ids: Sequence[str] | None = None, thresholds: StuckLeadsThresholds | None = None
) -> StuckLeadsResult:
    """Active, not completed leads whose position reached their campaign's sequence length (SOP 6.2)."""
    thresholds = thresholds or StuckLeadsThresholds()
    scope = resolve_scope(conn, client_ids)
    params = {"client_ids": scope, "sample_size": thresholds.sample_size}
    rows = conn.execute(load_sql(__file__, "stuck_leads_by_client.sql"), params)
    by_client = {r.client_id: int(r.stuck) for r in rows}
    sample = (
        [StuckLead(**r._asdict()) for r in conn.execute(load_sql(__file__, "stuck_leads_sample.sql"), params)]
        if by_client
        else []
    )
    return StuckLeadsResult(thresholds=thresholds, by_client=by_client, sample=sample)


# stats drift ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftedCampaign:
    campaign_id: str
    client_id: str
    client_name: str
    campaign_name: str
    active_leads_count: int
    active_not_opted_out: int
    active_any: int
    completed_leads_count: int
    completed: int
    opted_out_count: int
    opted_out: int
    booked_count: int
    booked: int
    largest_difference: int


@dataclass(frozen=True)
class StatsDriftResult(CheckOutcome):
    thresholds: StatsDriftThresholds
    campaigns_checked: int
    drifted: list[DriftedCampaign]
    name: str = "stats_drift"

    @property
    def largest_difference(self) -> int:
        return max((d.largest_difference for d in self.drifted), default=0)

    @property
    def level(self) -> Level:
        if not self.drifted:
            return Level.PASSED
        return Level.ERROR if self.largest_difference > self.thresholds.error_above else Level.WARN

    @property
    def summary(self) -> str:
        t = self.thresholds
        return (
            f"{len(self.drifted)} of {self.campaigns_checked} campaign(s) drifted by more than {t.warn_above}; "
            f"largest difference {self.largest_difference} (error above {t.error_above})"
        )

    def figures(self) -> Figures:
        return {
            "campaigns_checked": self.campaigns_checked,
            "drifted_campaigns": len(self.drifted),
            "largest_difference": self.largest_difference,
        }

    def tables(self) -> dict[str, str]:
        headers = (
            "campaign",
            "client",
            "active reported",
            "active (not opted out)",
            "active (any)",
            "completed reported/actual",
            "opted out reported/actual",
            "booked reported/actual",
            "largest difference",
        )
        rows = [
            (
                f"{d.campaign_name} ({d.campaign_id})",
                d.client_name,
                d.active_leads_count,
                d.active_not_opted_out,
                d.active_any,
                f"{d.completed_leads_count}/{d.completed}",
                f"{d.opted_out_count}/{d.opted_out}",
                f"{d.booked_count}/{d.booked}",
                d.largest_difference,
            )
            for d in self.drifted[: self.thresholds.sample_size]
        ]
        return {"worst_drifted_campaigns": markdown_table(headers, rows)}

    def client_findings(self) -> dict[str, dict[str, Any]]:
        findings: dict[str, dict[str, Any]] = {}
        for d in self.drifted:  # worst first: the first campaigns named are the ones to look at
            entry = findings.setdefault(d.client_id, {"drifted_campaigns": 0, "largest_difference": 0, "campaigns": []})
            entry["drifted_campaigns"] += 1
            entry["largest_difference"] = max(entry["largest_difference"], d.largest_difference)
            if len(entry["campaigns"]) < 3:
                entry["campaigns"].append(f"{d.campaign_name} off by {d.largest_difference}")
        for entry in findings.values():
            entry["level"] = (
                Level.ERROR if entry["largest_difference"] > self.thresholds.error_above else Level.WARN
            ).value
        return dict(sorted(findings.items()))


def evaluate_stats_drift(
    conn: Connection, client_ids: Sequence[str] | None = None, thresholds: StatsDriftThresholds | None = None
) -> StatsDriftResult:
    """Campaigns whose counters differ from their leads by more than the tolerance (SOP "Campaign Stats Drift")."""
    thresholds = thresholds or StatsDriftThresholds()
    scope = resolve_scope(conn, client_ids)
    checked = int(conn.execute(load_sql(__file__, "count_campaigns.sql"), {"client_ids": scope}).scalar_one())
    drifted = [
        DriftedCampaign(**r._asdict())
        for r in conn.execute(
            load_sql(__file__, "stats_drift.sql"), {"client_ids": scope, "tolerance": thresholds.warn_above}
        )
    ]
    return StatsDriftResult(thresholds=thresholds, campaigns_checked=checked, drifted=drifted)


# duplicate de-enrollments -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogDuplicate:
    lead_id: str
    client_id: str
    campaign_id: str | None
    enrolled_at: datetime | None
    times_logged: int


@dataclass(frozen=True)
class HistoryDuplicate:
    lead_id: str
    client_id: str
    campaign_id: str | None
    enrolled_at: str | None  # as written in campaign_history (JSON text)
    times_in_history: int


@dataclass(frozen=True)
class DuplicatesResult(CheckOutcome):
    thresholds: DuplicateThresholds
    log_duplicates: list[LogDuplicate]
    history_duplicates: list[HistoryDuplicate]
    archive_included: bool
    name: str = "duplicate_de_enrollments"

    @property
    def total(self) -> int:
        return len(self.log_duplicates) + len(self.history_duplicates)

    @property
    def level(self) -> Level:
        return Level.ERROR if self.total > self.thresholds.error_above else Level.PASSED

    @property
    def summary(self) -> str:
        where = "lead log and its archive" if self.archive_included else "lead log"
        return (
            f"{len(self.log_duplicates)} enrollment(s) de-enrolled more than once in the {where}, "
            f"{len(self.history_duplicates)} repeated in campaign_history"
        )

    def figures(self) -> Figures:
        leads = {d.lead_id for d in self.log_duplicates} | {d.lead_id for d in self.history_duplicates}
        return {
            "duplicate_log_enrollments": len(self.log_duplicates),
            "duplicate_history_enrollments": len(self.history_duplicates),
            "leads_affected": len(leads),
        }

    def tables(self) -> dict[str, str]:
        n = self.thresholds.sample_size
        return {
            "log_duplicates_table": markdown_table(
                ("lead", "client", "campaign", "enrolled_at", "times logged"),
                [
                    (d.lead_id, d.client_id, d.campaign_id, d.enrolled_at, d.times_logged)
                    for d in self.log_duplicates[:n]
                ],
            ),
            "history_duplicates_table": markdown_table(
                ("lead", "client", "campaign", "enrolled_at", "times in history"),
                [
                    (d.lead_id, d.client_id, d.campaign_id, d.enrolled_at, d.times_in_history)
                    for d in self.history_duplicates[:n]
                ],
            ),
        }

    def client_findings(self) -> dict[str, dict[str, Any]]:
        findings: dict[str, dict[str, Any]] = {}
        for d in self.log_duplicates:
            findings.setdefault(d.client_id, {"log": 0, "history": 0})["log"] += 1
        for h in self.history_duplicates:
            findings.setdefault(h.client_id, {"log": 0, "history": 0})["history"] += 1
        return {
            client: {
                "duplicate_log_enrollments": f["log"],
                "duplicate_history_enrollments": f["history"],
                "level": Level.ERROR.value,
            }
            for client, f in sorted(findings.items())
        }


def evaluate_duplicate_de_enrollments(
    conn: Connection, client_ids: Sequence[str] | None = None, thresholds: DuplicateThresholds | None = None
) -> DuplicatesResult:
    """A lead de-enrolled twice from one enrollment (lead log, and its archive when it exists), or a
    campaign_history holding one enrollment twice (SOP "Duplicate De-enrollments", Level 3)."""
    thresholds = thresholds or DuplicateThresholds()
    scope = resolve_scope(conn, client_ids)
    archive = bool(conn.execute(load_sql(__file__, "archive_exists.sql")).scalar_one())
    log_sql = "duplicate_log_entries_with_archive.sql" if archive else "duplicate_log_entries.sql"
    log_duplicates = [
        LogDuplicate(**r._asdict()) for r in conn.execute(load_sql(__file__, log_sql), {"client_ids": scope})
    ]
    history_sql = "duplicate_history_entries_with_archive.sql" if archive else "duplicate_history_entries.sql"
    history_duplicates = [
        HistoryDuplicate(**r._asdict()) for r in conn.execute(load_sql(__file__, history_sql), {"client_ids": scope})
    ]
    return DuplicatesResult(
        thresholds=thresholds,
        log_duplicates=log_duplicates,
        history_duplicates=history_duplicates,
        archive_included=archive,
    )


# leads skipped as already de-enrolled -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedLead:
    lead_id: str
    client_id: str
    campaign_id: str | None
    enrolled_at: datetime | None
    skipped_by_run: str | None
    skipped_at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class SkippedDeEnrollmentsResult(CheckOutcome):
    """Leads due again although their enrollment was already de-enrolled: each waits for an operator's decision
    (`campaign-ops resolve-skipped`); any is an ERROR, the leads are the failing rows."""

    leads: list[SkippedLead]
    sample_size: int = 20
    name: str = "skipped_de_enrollments"

    @property
    def level(self) -> Level:
        return Level.ERROR if self.leads else Level.PASSED

    @property
    def summary(self) -> str:
        clients = len({lead.client_id for lead in self.leads})
        return (
            f"{len(self.leads)} lead(s) in {clients} client(s) due again although already de-enrolled from the "
            "same enrollment: left as they are; decide each with `campaign-ops resolve-skipped`"
            if self.leads
            else "no lead waiting for a decision on an earlier de-enrollment"
        )

    def figures(self) -> Figures:
        return {"skipped_leads": len(self.leads), "clients_with_skipped_leads": len({x.client_id for x in self.leads})}

    def tables(self) -> dict[str, str]:
        rows = [
            (x.lead_id, x.client_id, x.campaign_id, x.enrolled_at, x.skipped_by_run, x.reason)
            for x in self.leads[: self.sample_size]
        ]
        return {
            "failing_leads": markdown_table(
                ("lead", "client", "campaign", "enrolled_at", "skipped by run", "reason"), rows
            )
        }

    def client_findings(self) -> dict[str, dict[str, Any]]:
        counts: dict[str, int] = {}
        for x in self.leads:
            counts[x.client_id] = counts.get(x.client_id, 0) + 1
        return {c: {"skipped_leads": n, "level": Level.ERROR.value} for c, n in sorted(counts.items())}


def evaluate_skipped_de_enrollments(
    conn: Connection, client_ids: Sequence[str] | None = None, sample_size: int = 20
) -> SkippedDeEnrollmentsResult:
    """Leads left as they are because their enrollment was already de-enrolled (sql/0028), per client scope."""
    scope = resolve_scope(conn, client_ids)
    rows = conn.execute(load_sql(__file__, "skipped_de_enrollments.sql"), {"client_ids": scope})
    return SkippedDeEnrollmentsResult(leads=[SkippedLead(**r._asdict()) for r in rows], sample_size=sample_size)


# de-enrollment health ---------------------------------------------------------------------------------------------


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


# schema contract --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaContractResult(CheckOutcome):
    items: list[VerifyItem]
    name: str = "schema_contract"

    @property
    def missing(self) -> list[VerifyItem]:
        return [i for i in self.items if not i.ok]

    @property
    def level(self) -> Level:
        return Level.ERROR if self.missing else Level.PASSED

    @property
    def summary(self) -> str:
        if not self.missing:
            return f"all {len(self.items)} expected objects present"
        names = ", ".join(f"{i.kind} {i.name}" for i in self.missing[:10])
        more = f" and {len(self.missing) - 10} more" if len(self.missing) > 10 else ""
        return f"{len(self.missing)} of {len(self.items)} expected objects missing: {names}{more}"

    def figures(self) -> Figures:
        return {"objects_expected": len(self.items), "objects_missing": len(self.missing)}

    def tables(self) -> dict[str, str]:
        return {"missing_objects": markdown_table(("kind", "name"), [(i.kind, i.name) for i in self.missing])}


def evaluate_schema_contract(conn: Connection, client_ids: Sequence[str] | None = None) -> SchemaContractResult:
    """Every object `campaign-ops db verify` expects exists in the live database (seed 002's lesson).
    `client_ids` is accepted for a uniform signature and ignored: the schema is shared by all clients."""
    return SchemaContractResult(items=verify_schema(conn))


# all checks ---------------------------------------------------------------------------------------------------------

CHECKS: Mapping[str, Callable[[Connection, Sequence[str] | None], CheckOutcome]] = {
    "stuck_leads": evaluate_stuck_leads,
    "stats_drift": evaluate_stats_drift,
    "duplicate_de_enrollments": evaluate_duplicate_de_enrollments,
    "de_enrollment_health": evaluate_de_enrollment_health,
    "schema_contract": evaluate_schema_contract,
}
