"""Schema migrations: Alembic revisions that run the plain-SQL files in `sql/` (and `sql/rollback/`).

Safety beyond plain Alembic:
- every upgrade/downgrade holds a transaction-level advisory lock, so two started at once apply once;
- the checksum of each applied migration file is stored; if a file changed after it was applied, every
  further upgrade/downgrade is refused with a message naming the file.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from campaign_ops.db.engine import connect, make_engine
from campaign_ops.errors import CampaignOpsError

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"
MIGRATION_LOCK_KEY = 0x63616D706F7073  # "campops": one lock for all schema changes
CHECKSUM_TABLE = "campaign_ops_migration_checksums"


class MigrationChecksumError(CampaignOpsError):
    """An already-applied migration file was changed."""


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


def alembic_config(url: str) -> Config:
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
    """Called by an Alembic revision's upgrade(): run its SQL file and record its checksum."""
    path = sql_file_for(revision)
    run_script(conn, path.read_text())
    conn.execute(
        text(f"INSERT INTO {CHECKSUM_TABLE} (revision, filename, sha256) VALUES (:r, :f, :s)"),
        {"r": revision, "f": path.name, "s": file_checksum(path)},
    )


def rollback_sql_revision(conn: Connection, revision: str) -> None:
    """Called by an Alembic revision's downgrade(): run its rollback file and forget its checksum."""
    run_script(conn, rollback_file_for(revision).read_text())
    conn.execute(text(f"DELETE FROM {CHECKSUM_TABLE} WHERE revision = :r"), {"r": revision})


def upgrade(url: str, to: str = "head") -> list[str]:
    """Apply migrations up to `to`; returns the revisions this call applied (empty when already there)."""
    config = alembic_config(url)
    command.upgrade(config, to)
    return list(config.attributes.get("applied", []))


def downgrade(url: str, to: str) -> list[str]:
    """Roll back down to `to`; returns the revisions reached, step by step."""
    config = alembic_config(url)
    command.downgrade(config, to)
    return list(config.attributes.get("applied", []))


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def all_revisions() -> list[str]:
    """Revisions from first to head."""
    script = ScriptDirectory.from_config(alembic_config(""))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def status(url: str) -> MigrationStatus:
    engine = make_engine(url, pooled=False)
    with connect(engine) as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    revisions = all_revisions()
    done = revisions.index(current) + 1 if current in revisions else 0
    return MigrationStatus(current=current, head=revisions[-1], pending=revisions[done:])
