"""Monthly archival of the monitoring tables: move old rows into archives, losing nothing.

The SOP's "Monthly: Database Cleanup" copies old runs and deletes old lead logs. Here both are moved, per client,
each client in ONE transaction:

1. lead-log rows older than `lead_log_retention_days` (default 30): lock them, copy them into
   `de_enrollment_lead_log_archive`, delete from the live table only the rows whose archived copy is identical
   (one statement), then check that matched, copied and deleted counts are equal;
2. runs older than `runs_retention_days` (default 90) that no live lead-log row references any more: the same
   steps into `de_enrollment_runs_archive`. A run whose lead-log rows are still live stays live (counted as
   `runs_kept_for_live_logs`), so the foreign key `de_enrollment_lead_log.run_id` always holds and the SOP's
   "Check Processing History for Specific Lead" query keeps finding every live lead-log row with its run.
   The view `de_enrollment_lead_history` (sql/0024) gives a lead's whole history, live and archived.

Any mismatch raises ArchivalMismatchError and the client's transaction rolls back. Re-running is harmless: what
was moved is no longer in the live tables. After all clients, once per sweep, `VACUUM (ANALYZE)` of the live
tables on an AUTOCOMMIT connection (VACUUM cannot run in a transaction), and a table-size report
(`pg_total_relation_size`) with the SOP's weekly-review warning for tables over 10 GB.
"""

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, text

from campaign_ops.clients import partition_keys
from campaign_ops.clients.scope import require_clients
from campaign_ops.clients.sweep import ClientFailure, each_client
from campaign_ops.db.engine import connect
from campaign_ops.errors import CampaignOpsError, ConfigError
from campaign_ops.sqlfiles import load_sql

DEFAULT_RUNS_RETENTION_DAYS = 90
DEFAULT_LEAD_LOG_RETENTION_DAYS = 30
GIB = 1024**3
DEFAULT_SIZE_WARNING_BYTES = 10 * GIB  # the SOP's weekly review: "Schedule maintenance if table sizes exceed 10GB"
MAX_RETENTION_DAYS = 36_500
LOCK_TIMEOUT = "60s"  # rows are locked briefly by others (a lead-log insert checks its run): never wait forever
REPORTED_TABLES = (
    "de_enrollment_runs",
    "de_enrollment_lead_log",
    "de_enrollment_runs_archive",
    "de_enrollment_lead_log_archive",
    "stats_reconciliation_log",
)


class ArchivalMismatchError(CampaignOpsError):
    """Copied and deleted row counts differ; the client's archival was rolled back."""


def _positive_days(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number of days, got {value!r}")
    if value <= 0:
        raise ConfigError(f"{name} must be positive (days to keep), got {value}")
    if value > MAX_RETENTION_DAYS:
        raise ConfigError(f"{name} must be at most {MAX_RETENTION_DAYS} days, got {value}")
    return value


@dataclass(frozen=True)
class ArchivalSettings:
    runs_retention_days: int = DEFAULT_RUNS_RETENTION_DAYS
    lead_log_retention_days: int = DEFAULT_LEAD_LOG_RETENTION_DAYS
    dry_run: bool = False
    size_warning_bytes: int = DEFAULT_SIZE_WARNING_BYTES

    def __post_init__(self) -> None:
        _positive_days("runs retention (runs_retention_days, --runs-older-than-days)", self.runs_retention_days)
        _positive_days(
            "lead-log retention (lead_log_retention_days, --lead-log-older-than-days)", self.lead_log_retention_days
        )
        if isinstance(self.size_warning_bytes, bool) or not isinstance(self.size_warning_bytes, int):
            raise ConfigError(f"size_warning_bytes must be a whole number, got {self.size_warning_bytes!r}")
        if self.size_warning_bytes <= 0:
            raise ConfigError(f"size_warning_bytes must be positive, got {self.size_warning_bytes}")


@dataclass(frozen=True)
class Cutoffs:
    """Rows strictly older than these instants are archived (the SOP's `< NOW() - INTERVAL 'N days'`)."""

    as_of: datetime
    runs: datetime
    lead_log: datetime

    @classmethod
    def from_settings(cls, as_of: datetime, settings: ArchivalSettings) -> "Cutoffs":
        if as_of.tzinfo is None:
            raise ConfigError("as_of must be timezone-aware")
        return cls(
            as_of=as_of,
            runs=as_of - timedelta(days=settings.runs_retention_days),
            lead_log=as_of - timedelta(days=settings.lead_log_retention_days),
        )

    def params(self, client_id: str) -> dict[str, object]:
        return {"client_id": client_id, "runs_cutoff": self.runs, "lead_log_cutoff": self.lead_log}


@dataclass(frozen=True)
class ClientArchival:
    client_id: str
    client_name: str
    dry_run: bool
    lead_log_archived: int  # on a dry run: would be archived
    runs_archived: int  # on a dry run: would be archived
    runs_kept_for_live_logs: int
    duration_ms: int


@dataclass(frozen=True)
class TableSize:
    name: str
    bytes: int

    @property
    def pretty(self) -> str:
        size = float(self.bytes)
        for unit in ("bytes", "kB", "MB", "GB"):
            if size < 1024 or unit == "GB":
                return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
            size /= 1024
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class Maintenance:
    """What happens once per sweep, after every client: VACUUM and the size report."""

    vacuumed: bool
    vacuum_ms: int
    table_sizes: tuple[TableSize, ...]
    warnings: tuple[str, ...]


@dataclass
class ArchivalSweep:
    cutoffs: Cutoffs
    dry_run: bool
    results: list[ClientArchival] = field(default_factory=list)
    failures: list[ClientFailure] = field(default_factory=list)
    maintenance: Maintenance | None = None
    duration_ms: int = 0

    @property
    def lead_log_archived(self) -> int:
        return sum(r.lead_log_archived for r in self.results)

    @property
    def runs_archived(self) -> int:
        return sum(r.runs_archived for r in self.results)


def prepare_archival(
    engine: Engine,
    client_ids: Sequence[str],
    settings: ArchivalSettings,
    as_of: datetime | None = None,
    *,
    inactive_by_age: bool = False,
) -> tuple[dict[str, str], Cutoffs]:
    """Validate clients (one UnknownClientError, nothing changed) and fix the sweep's cutoffs once for all clients
    (`as_of` defaults to the database's now()). With `inactive_by_age` (a full sweep), inactive clients with
    rows past retention are added after the given ones: retention is by age for every client."""
    with connect(engine) as conn:
        ids = require_clients(conn, client_ids)
        now = as_of or conn.execute(text("SELECT now()")).scalar_one()
        cutoffs = Cutoffs.from_settings(now, settings)
        if inactive_by_age:
            params = cutoffs.params("")
            del params["client_id"]
            ids += [
                c
                for c in conn.execute(load_sql(__file__, "inactive_with_old_rows.sql"), params).scalars()
                if c not in ids
            ]
        names = partition_keys.client_names(conn, ids)
        conn.rollback()
    return {c: names[c] for c in ids}, cutoffs


def iter_archive_clients(
    engine: Engine, clients: dict[str, str], cutoffs: Cutoffs, settings: ArchivalSettings
) -> Iterator[ClientArchival | ClientFailure]:
    """Archive validated clients one by one, each in its own transaction; a failure is yielded, the rest go on."""
    yield from each_client(
        engine,
        clients,
        lambda conn, client_id, name: archive_client(
            conn, client_id, cutoffs, dry_run=settings.dry_run, client_name=name
        ),
    )


def archive_clients(
    engine: Engine,
    client_ids: Sequence[str],
    settings: ArchivalSettings,
    *,
    as_of: datetime | None = None,
    inactive_by_age: bool = False,
) -> ArchivalSweep:
    """Validate, archive every client (with `inactive_by_age`, inactive clients' old rows too), then (not on a
    dry run) VACUUM once; always report table sizes."""
    started = time.monotonic()
    clients, cutoffs = prepare_archival(engine, client_ids, settings, as_of, inactive_by_age=inactive_by_age)
    sweep = ArchivalSweep(cutoffs=cutoffs, dry_run=settings.dry_run)
    for outcome in iter_archive_clients(engine, clients, cutoffs, settings):
        if isinstance(outcome, ClientFailure):
            sweep.failures.append(outcome)
        else:
            sweep.results.append(outcome)
    sweep.maintenance = maintain(engine, settings)
    sweep.duration_ms = int((time.monotonic() - started) * 1000)
    return sweep


def archive_client(
    conn: Connection, client_id: str, cutoffs: Cutoffs, *, dry_run: bool = False, client_name: str = ""
) -> ClientArchival:
    """Archive one (validated) client in one transaction on `conn` (which must not be inside one)."""
    started = time.monotonic()
    params = cutoffs.params(client_id)
    if dry_run:
        with conn.begin():
            plan = conn.execute(load_sql(__file__, "plan.sql"), params).one()
        return ClientArchival(
            client_id,
            client_name,
            True,
            plan.lead_log_rows,
            plan.runs,
            plan.runs_kept,
            int((time.monotonic() - started) * 1000),
        )
    with conn.begin():
        conn.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": LOCK_TIMEOUT})
        lead_log = _move(conn, "lead-log rows", "move_lead_log.sql", params, client_id)
        runs = _move(conn, "runs", "move_runs.sql", params, client_id)
        kept = conn.execute(load_sql(__file__, "runs_kept.sql"), params).scalar_one()
    return ClientArchival(client_id, client_name, False, lead_log, runs, kept, int((time.monotonic() - started) * 1000))


def _move(conn: Connection, what: str, sql_file: str, params: dict, client_id: str) -> int:
    counts = conn.execute(load_sql(__file__, sql_file), params).one()
    if not counts.matched == counts.copied == counts.deleted:
        raise ArchivalMismatchError(
            f"client {client_id}: {what}: {counts.matched} matched, {counts.copied} copied, "
            f"{counts.deleted} deleted; rolled back"
        )
    return int(counts.deleted)


def maintain(engine: Engine, settings: ArchivalSettings) -> Maintenance:
    """Once per sweep: VACUUM (ANALYZE) the live tables and ANALYZE the archives (skipped on a dry run),
    then measure the tables and warn about any over the size threshold."""
    vacuum_ms = 0
    if not settings.dry_run:
        started = time.monotonic()
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        with connect(autocommit) as conn:
            conn.execute(load_sql(__file__, "vacuum_live.sql"))
            conn.execute(load_sql(__file__, "analyze_archives.sql"))
        vacuum_ms = int((time.monotonic() - started) * 1000)
    with connect(engine) as conn:
        sizes = tuple(
            TableSize(r.name, int(r.bytes))
            for r in conn.execute(load_sql(__file__, "table_sizes.sql"), {"tables": list(REPORTED_TABLES)})
        )
        conn.rollback()
    warnings = tuple(
        f"{t.name} is {t.pretty}, over {TableSize('', settings.size_warning_bytes).pretty}: "
        "schedule maintenance (SOP weekly review)"
        for t in sizes
        if t.bytes > settings.size_warning_bytes
    )
    return Maintenance(not settings.dry_run, vacuum_ms, sizes, warnings)
