"""The SOP's table backups (`leads_backup_YYYYMMDD`, `campaigns_backup_YYYYMMDD`) and its restore step.

Table names cannot be bound parameters. They are built only from a strictly validated date (eight digits that
form a real calendar date) and quoted through the dialect's identifier preparer before they reach a statement;
the statements themselves are templates in the .sql files beside this module.

- `create_backup`: both tables in one REPEATABLE READ transaction (one snapshot: the leads and campaigns backups
  agree with each other). An existing backup of the same day is refused unless `replace=True`.
- `restore_backup`: the SOP's rollback Step 4 (its two UPDATEs, limited to rows that differ, which gives the same
  end state and an honest "rows changed" count) in one transaction, holding leads and campaigns against other
  writers for its duration. A day without both backup tables, or a backup lacking a restored column, is refused
  before anything changes. It is an auditable reversal: each lead it puts back into an enrollment that was
  de-enrolled gets a `restored` lead-log entry (same transaction) that re-opens the enrollment, so the next pass
  de-enrolls it again as a new event rather than skipping it as already done. The campaign counters are then
  recomputed from the restored leads (leads created or changed since the backup are not restored).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, text

from campaign_ops.db.migrations import run_script
from campaign_ops.errors import CampaignOpsError, ConfigError
from campaign_ops.sqlfiles import load_sql

LEADS_RESTORED_COLUMNS = ("id", "is_active", "completed_at", "campaign_history")
CAMPAIGNS_RESTORED_COLUMNS = (
    "id",
    "is_active",
    "active_leads_count",
    "completed_leads_count",
    "opted_out_count",
    "booked_count",
)
RESTORE_LOCK_TIMEOUT = "30s"
_DAY = re.compile(r"[0-9]{8}")  # ASCII: \d also matches fullwidth and other digits


class BackupExistsError(CampaignOpsError):
    """A backup of that day exists and replacing it was not asked for."""


class BackupNotFoundError(CampaignOpsError):
    """No (complete, usable) backup of that day."""


@dataclass(frozen=True)
class BackupTables:
    day: str  # YYYYMMDD
    leads: str
    campaigns: str


@dataclass(frozen=True)
class BackupResult:
    tables: BackupTables
    leads_rows: int
    campaigns_rows: int
    replaced: bool


@dataclass(frozen=True)
class RestoreResult:
    tables: BackupTables
    leads_changed: int
    campaigns_changed: int
    leads_in_backup: int
    campaigns_in_backup: int
    leads_only_in_backup: int  # deleted since the backup: the SOP's restore does not bring them back
    campaigns_only_in_backup: int
    leads_only_live: int  # created since the backup: left as they are
    campaigns_only_live: int
    enrollments_reopened: int = 0  # `restored` lead-log entries written
    counters_corrected: int = 0  # campaigns whose restored counters disagreed with the restored leads


def parse_backup_day(value: str) -> str:
    """The canonical YYYYMMDD of a real date; ConfigError for anything else (no partial or fuzzy parsing)."""
    raw = str(value).strip()
    if not _DAY.fullmatch(raw):
        raise ConfigError(f"backup date must be YYYYMMDD (8 digits), got {value!r}")
    try:
        datetime.strptime(raw, "%Y%m%d")
    except ValueError:
        raise ConfigError(f"backup date {raw} is not a real calendar date") from None
    return raw


def backup_tables(day: str | date) -> BackupTables:
    stamp = day.strftime("%Y%m%d") if isinstance(day, date) else parse_backup_day(day)
    return BackupTables(stamp, f"leads_backup_{stamp}", f"campaigns_backup_{stamp}")


@cache
def _template(name: str) -> str:
    return (Path(__file__).parent / name).read_text()


def _statement(conn: Connection, name: str, **tables: str) -> str:
    """The template `name` with each table name quoted as an identifier by the connection's dialect."""
    quote = conn.dialect.identifier_preparer.quote
    return _template(name).format_map({key: quote(value) for key, value in tables.items()})


def existing_backups(conn: Connection) -> dict[str, set[str]]:
    """{YYYYMMDD: {'leads', 'campaigns'}} for every SOP backup table present."""
    found: dict[str, set[str]] = {}
    for row in conn.execute(load_sql(__file__, "existing_backups.sql")):
        found.setdefault(row.day, set()).add(row.kind)
    return found


def complete_backup_days(conn: Connection) -> list[str]:
    return [day for day, kinds in sorted(existing_backups(conn).items()) if kinds == {"leads", "campaigns"}]


def create_backup(conn: Connection, *, day: date | None = None, replace: bool = False) -> BackupResult:
    """Create today's (the database's current_date) SOP backup tables in one snapshot; commits."""
    if conn.in_transaction():
        conn.rollback()
    with conn.begin():
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        tables = backup_tables(day or conn.execute(text("SELECT current_date")).scalar_one())
        present = existing_backups(conn).get(tables.day, set())
        if present and not replace:
            names = ", ".join(getattr(tables, kind) for kind in sorted(present))
            raise BackupExistsError(
                f"a backup of {tables.day} exists ({names}); pass --replace to overwrite it, nothing changed"
            )
        if present:
            run_script(
                conn, _statement(conn, "drop_backup.sql", leads_backup=tables.leads, campaigns_backup=tables.campaigns)
            )
        run_script(
            conn, _statement(conn, "create_backup.sql", leads_backup=tables.leads, campaigns_backup=tables.campaigns)
        )
        counts = conn.execute(
            text(_statement(conn, "backup_counts.sql", leads_backup=tables.leads, campaigns_backup=tables.campaigns))
        ).one()
    return BackupResult(tables, counts.leads, counts.campaigns, replaced=bool(present))


def restore_backup(conn: Connection, day: str) -> RestoreResult:
    """Restore leads and campaigns from the backup of `day` (YYYYMMDD) in one transaction; commits."""
    tables = backup_tables(day)
    if conn.in_transaction():
        conn.rollback()
    with conn.begin():
        present = existing_backups(conn).get(tables.day, set())
        if present != {"leads", "campaigns"}:
            available = ", ".join(complete_backup_days(conn)) or "none"
            missing = ", ".join(getattr(tables, k) for k in ("leads", "campaigns") if k not in present)
            raise BackupNotFoundError(
                f"no backup of {tables.day} (missing {missing}); available backups: {available}; nothing changed"
            )
        _require_live_columns(conn, tables.day)
        _require_columns(conn, tables)
        conn.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": RESTORE_LOCK_TIMEOUT})
        # no other writer may change leads or campaigns between the two restores: they must agree with each other
        conn.execute(text("LOCK TABLE leads, campaigns IN SHARE ROW EXCLUSIVE MODE"))
        leads_cov = conn.execute(text(_statement(conn, "backup_coverage.sql", backup=tables.leads, live="leads"))).one()
        campaigns_cov = conn.execute(
            text(_statement(conn, "backup_coverage.sql", backup=tables.campaigns, live="campaigns"))
        ).one()
        # before the leads change: which leads go back into an enrollment is read against their current state
        reopened = conn.execute(
            text(_statement(conn, "restore_lead_log.sql", leads_backup=tables.leads)),
            {"note": f"restored from backup {tables.leads}"},
        ).scalar_one()
        leads_changed = conn.execute(
            text(_statement(conn, "restore_leads.sql", leads_backup=tables.leads))
        ).scalar_one()
        campaigns_changed = conn.execute(
            text(_statement(conn, "restore_campaigns.sql", campaigns_backup=tables.campaigns))
        ).scalar_one()
        counters_corrected = conn.execute(load_sql(__file__, "recount_counters.sql")).scalar_one()
    return RestoreResult(
        tables=tables,
        leads_changed=leads_changed,
        campaigns_changed=campaigns_changed,
        leads_in_backup=leads_cov.matched + leads_cov.only_in_backup,
        campaigns_in_backup=campaigns_cov.matched + campaigns_cov.only_in_backup,
        leads_only_in_backup=leads_cov.only_in_backup,
        campaigns_only_in_backup=campaigns_cov.only_in_backup,
        leads_only_live=leads_cov.only_live,
        campaigns_only_live=campaigns_cov.only_live,
        enrollments_reopened=reopened,
        counters_corrected=counters_corrected,
    )


def _require_live_columns(conn: Connection, day: str) -> None:
    """The restore writes columns that migrations 0019/0020 add: after their rollback (SOP rollback Step 3) it
    cannot run, and the operator needs the order that works, not `column l.completed_at does not exist`."""
    live: dict[str, set[str]] = {}
    for row in conn.execute(load_sql(__file__, "backup_columns.sql"), {"tables": ["leads", "campaigns"]}):
        live.setdefault(row.table_name, set()).add(row.column_name)
    missing = [
        f"{table}.{column}"
        for table, needed in (("leads", LEADS_RESTORED_COLUMNS), ("campaigns", CAMPAIGNS_RESTORED_COLUMNS))
        for column in needed
        if column not in live.get(table, set())
    ]
    if missing:
        raise BackupNotFoundError(
            f"the live schema lacks {', '.join(missing)} (migrations 0019/0020 rolled back): restore before "
            f"rolling back: `campaign-ops db upgrade`, `campaign-ops restore --from {day}`, then "
            "`campaign-ops db downgrade --to 0002`; nothing changed"
        )


def _require_columns(conn: Connection, tables: BackupTables) -> None:
    columns: dict[str, set[str]] = {}
    for row in conn.execute(load_sql(__file__, "backup_columns.sql"), {"tables": [tables.leads, tables.campaigns]}):
        columns.setdefault(row.table_name, set()).add(row.column_name)
    for table, needed in ((tables.leads, LEADS_RESTORED_COLUMNS), (tables.campaigns, CAMPAIGNS_RESTORED_COLUMNS)):
        missing = [c for c in needed if c not in columns.get(table, set())]
        if missing:
            raise BackupNotFoundError(
                f"backup table {table} lacks column(s) {', '.join(missing)} that the restore sets "
                "(taken before migrations 0019/0020?); nothing changed"
            )
