"""Schema migrations: Alembic revisions that run the plain-SQL files in `sql/` (and `sql/rollback/`).

Safety beyond plain Alembic:
- every upgrade/downgrade holds a transaction-level advisory lock, so two started at once apply once;
- the checksum of each applied migration file is stored; if a file changed after it was applied, every
  further upgrade/downgrade is refused with a message naming the file;
- what each migration actually changed is recorded in `campaign_ops_migration_changes`, so that its rollback
  undoes exactly that: the tables it created (0001's `IF NOT EXISTS` creates nothing on a legacy database, whose
  tables its rollback must then keep), and rows it changed with their old values, noted by `sql/record/NNNN.sql`
  run just before the migration's own file (an applied file cannot change: its checksum is stored);
- the server must be PostgreSQL 15 or later (0021 uses NULLS NOT DISTINCT): checked before anything runs;
- going down to base leaves no bookkeeping table behind: the database is as it was before the first upgrade.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from campaign_ops.db.engine import connect, make_engine
from campaign_ops.errors import CampaignOpsError

# Alembic is imported where a migration runs, not with this module: every `campaign-ops` command imports this
# module (for run_script and the schema checks), and Alembic alone was a quarter of the command line's start-up
if TYPE_CHECKING:
    from alembic.config import Config

SQL_DIR = Path(__file__).resolve().parent / "sql"
ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"
MIGRATION_LOCK_KEY = 0x63616D706F7073  # "campops": one lock for all schema changes
CHECKSUM_TABLE = "campaign_ops_migration_checksums"
CHANGES_TABLE = "campaign_ops_migration_changes"
RECORD_DIR = SQL_DIR / "record"
MIN_SERVER_VERSION_NUM = 150000  # NULLS NOT DISTINCT (0021)


class MigrationChecksumError(CampaignOpsError):
    """An already-applied migration file was changed."""


class UnsupportedServerError(CampaignOpsError):
    """The PostgreSQL server is older than the migrations need."""


def check_server_version(server_version_num: int) -> None:
    """Refuse servers older than PostgreSQL 15 (`server_version_num` as the server reports it, e.g. 150004)."""
    if server_version_num < MIN_SERVER_VERSION_NUM:
        major = server_version_num // 10000
        raise UnsupportedServerError(
            f"PostgreSQL {major} is too old: the migrations need PostgreSQL 15 or later "
            "(0021 uses UNIQUE NULLS NOT DISTINCT); nothing changed"
        )


def server_version_num(conn: Connection) -> int:
    return int(conn.execute(text("SELECT current_setting('server_version_num')")).scalar_one())


@dataclass(frozen=True)
class MigrationStatus:
    current: str | None
    head: str
    pending: list[str]


def sql_file_for(revision: str) -> Path:
    matches = sorted(SQL_DIR.glob(f"{revision}_*.sql"))
    if len(matches) != 1:
        raise CampaignOpsError(f"expected one sql/{revision}_*.sql, found {len(matches)}")
    return matches[0]


def rollback_file_for(revision: str) -> Path:
    return SQL_DIR / "rollback" / f"{revision}_rollback.sql"


def file_checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def alembic_config(url: str) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["url"] = url
    return config


def ensure_checksum_table(conn: Connection) -> None:
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {CHECKSUM_TABLE} ("
            " revision text PRIMARY KEY, filename text NOT NULL, sha256 text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
    )


def ensure_changes_table(conn: Connection) -> None:
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} ("
            " id bigserial PRIMARY KEY, revision text NOT NULL,"
            # 'applied': the revision ran with this record kept (its absence means: migrated before records);
            # 'created_table': `object` is a table it created; 'updated_row': `object` is table.column of
            # row `row_id`, whose value before the migration was `old_value`
            " change text NOT NULL CHECK (change IN ('applied', 'created_table', 'updated_row')),"
            " object text, row_id uuid, old_value jsonb,"
            " recorded_at timestamptz NOT NULL DEFAULT now())"
        )
    )


def drop_bookkeeping(conn: Connection) -> None:
    """At base nothing of the migrations is left, their bookkeeping included (Alembic's table too)."""
    for table in (CHANGES_TABLE, CHECKSUM_TABLE, "alembic_version"):
        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))


_TABLES_QUERY = text(
    "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')"
)


def verify_checksums(conn: Connection) -> None:
    """Refuse to go on when an applied migration's file differs from what was applied."""
    rows = conn.execute(text(f"SELECT revision, filename, sha256 FROM {CHECKSUM_TABLE} ORDER BY revision"))
    for revision, filename, applied_sha in rows:
        path = SQL_DIR / filename
        if not path.exists():
            raise MigrationChecksumError(f"migration {revision} was applied from sql/{filename}, which is gone")
        if file_checksum(path) != applied_sha:
            raise MigrationChecksumError(
                f"migration {revision} (sql/{filename}) changed after it was applied; "
                "write a new migration instead of editing an applied one"
            )


def run_script(conn: Connection, script: str) -> None:
    """Run a multi-statement SQL script as it is, in the connection's transaction (no parameter parsing:
    PL/pgSQL's format('%I') must reach the server untouched)."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(script)
    finally:
        cursor.close()


def apply_sql_revision(conn: Connection, revision: str) -> None:
    """Called by an Alembic revision's upgrade(): run its SQL file, record its checksum and what it changed."""
    path = sql_file_for(revision)
    tables_before = set(conn.execute(_TABLES_QUERY).scalars())
    record = RECORD_DIR / f"{revision}.sql"
    if record.exists():
        run_script(conn, record.read_text())
    run_script(conn, path.read_text())
    created = sorted(set(conn.execute(_TABLES_QUERY).scalars()) - tables_before - {CHANGES_TABLE, CHECKSUM_TABLE})
    conn.execute(
        text(f"INSERT INTO {CHANGES_TABLE} (revision, change, object) VALUES (:r, 'applied', NULL)"), {"r": revision}
    )
    for table in created:
        conn.execute(
            text(f"INSERT INTO {CHANGES_TABLE} (revision, change, object) VALUES (:r, 'created_table', :t)"),
            {"r": revision, "t": table},
        )
    conn.execute(
        text(f"INSERT INTO {CHECKSUM_TABLE} (revision, filename, sha256) VALUES (:r, :f, :s)"),
        {"r": revision, "f": path.name, "s": file_checksum(path)},
    )


def rollback_sql_revision(conn: Connection, revision: str) -> None:
    """Called by an Alembic revision's downgrade(): run its rollback file (which reads the revision's records)
    and forget its checksum and records."""
    run_script(conn, rollback_file_for(revision).read_text())
    conn.execute(text(f"DELETE FROM {CHECKSUM_TABLE} WHERE revision = :r"), {"r": revision})
    conn.execute(text(f"DELETE FROM {CHANGES_TABLE} WHERE revision = :r"), {"r": revision})


def check_target(to: str) -> None:
    """An unknown revision is refused in one line, before any connection (Alembic's own error is a traceback)."""
    if to not in ("base", "head") and to not in all_revisions():
        raise CampaignOpsError(f"unknown revision {to!r}; known: base, head, {', '.join(all_revisions())}")


def upgrade(url: str, to: str = "head") -> list[str]:
    """Apply migrations up to `to`; returns the revisions this call applied (empty when already there)."""
    from alembic import command

    check_target(to)
    config = alembic_config(url)
    command.upgrade(config, to)
    return list(config.attributes.get("applied", []))


def downgrade(url: str, to: str) -> list[str]:
    """Roll back down to `to`; returns the revisions reached, step by step."""
    from alembic import command

    check_target(to)
    config = alembic_config(url)
    config.attributes["downgrade_to"] = to
    command.downgrade(config, to)
    return list(config.attributes.get("applied", []))


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def all_revisions() -> list[str]:
    """Revisions from first to head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(""))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def status(url: str) -> MigrationStatus:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url, pooled=False)
    with connect(engine) as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    revisions = all_revisions()
    done = revisions.index(current) + 1 if current in revisions else 0
    return MigrationStatus(current=current, head=revisions[-1], pending=revisions[done:])
