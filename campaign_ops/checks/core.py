"""Integrity and health checks: the SOP's verification queries as plain functions over a connection.

Each `evaluate_*` function runs its check over the given clients (or, with `client_ids=None`, every active
client: leads of inactive clients are left alone by design, so they are not reported as stuck) and returns a
small result with the figures, a level (passed / warn / error) and markdown tables. The Dagster asset checks
(checks/defs.py) and the CLI (`campaign-ops health-check`, `campaign-ops check`) both call these functions. The
de-enrollment health check is in checks/health.py; checks/catalog.py names every check for the CLI.

Thresholds default to the SOP's "Monitoring & Health Checks" table, written once in campaign_ops.thresholds. A
query that cannot run raises (SQLAlchemy or DatabaseUnavailableError): callers turn that into an error, never into
"passed".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from campaign_ops import thresholds as sop
from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.check_kit.outcome import CheckOutcome, Figures, Level, level_for
from campaign_ops.check_kit.remedies import FAILING_RUN_FINDING
from campaign_ops.clients.scope import resolve_scope
from campaign_ops.db.verify import VerifyItem, verify_schema
from campaign_ops.errors import ConfigError
from campaign_ops.sqlfiles import load_sql

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
    failing_de_enrollment_run: str | None = None
    """The Dagster run of the client's newest de-enrollment pass when it failed ('' when it had none)."""


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
            if d.failing_de_enrollment_run is not None:
                entry[FAILING_RUN_FINDING] = d.failing_de_enrollment_run
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
    """Leads left as they are because their enrollment was already de-enrolled (the guard of
    sql/objects/de_enroll_leads.sql), per client scope."""
    scope = resolve_scope(conn, client_ids)
    rows = conn.execute(load_sql(__file__, "skipped_de_enrollments.sql"), {"client_ids": scope})
    return SkippedDeEnrollmentsResult(leads=[SkippedLead(**r._asdict()) for r in rows], sample_size=sample_size)


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
    """Every object `campaign-ops db verify` expects exists in the live database (the status report's lesson).
    `client_ids` is accepted for a uniform signature and ignored: the schema is shared by all clients."""
    return SchemaContractResult(items=verify_schema(conn))
