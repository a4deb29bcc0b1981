"""Schema migrations: Alembic revisions that run the plain-SQL files in `sql/` (and `sql/rollback/`), and the
replaceable objects in `sql/objects/` (functions, views, triggers: one file each, the current form only).

Revisions: the SOP's (0001, 0002, 0019-0027, kept as released) and 0045, the baseline that folds everything
campaign-ops added after them. An Alembic revision module is three lines (`sql_revision`): the chain is the order of
the `sql/NNNN_*.sql` files.

Objects (Flyway's repeatable migrations, Alembic's "replaceable objects"): a file under `sql/objects/` is applied with
CREATE OR REPLACE when its checksum differs from the one stored, at the end of every upgrade that reaches the baseline
(same transaction, same lock). The baseline creates them the first time: functions and views, then its rows
(`sql/data/0045.sql`, which call them), then the triggers (so that those rows fire none). Its rollback drops them and
re-runs the SOP's own form of each function the SOP defined, from the SOP's migration file: a body is never restated.
CREATE OR REPLACE cannot change a function's arguments or result type, nor drop a view's column: such a change is a
new migration that drops the object, and the file then creates it again.

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
import re
from collections.abc import Callable
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
DATA_DIR = SQL_DIR / "data"
OBJECTS_DIR = SQL_DIR / "objects"
# one file per function, view or trigger function (with its triggers), named after it; applied in this order of
# kinds: views read functions, triggers execute functions
OBJECT_KINDS = ("function", "view", "trigger")
# the revision whose tables the objects need; it folds the migrations listed in sql/folded.txt
BASELINE = "0045"
FOLDED_MANIFEST = SQL_DIR / "folded.txt"
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


def sql_revision(module_file: str) -> tuple[str, str | None, Callable[[], None], Callable[[], None]]:
    """An Alembic revision module's (revision, down_revision, upgrade, downgrade): its id is the first four characters
    of its file name, the revision before it is the SQL file before its own."""
    revision = Path(module_file).name[:4]
    chain = sorted(p.name[:4] for p in SQL_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    position = chain.index(revision)

    def upgrade() -> None:
        from alembic import op

        apply_sql_revision(op.get_bind(), revision)

    def downgrade() -> None:
        from alembic import op

        rollback_sql_revision(op.get_bind(), revision)

    return revision, chain[position - 1] if position else None, upgrade, downgrade


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


def object_kind(path: Path) -> str:
    """'trigger' for a trigger function's file (it creates its triggers too), 'view' for a view's, else 'function'."""
    sql = path.read_text()
    for kind in ("trigger", "view"):
        if re.search(rf"^CREATE OR REPLACE {kind.upper()} ", sql, re.M):
            return kind
    return "function"


def object_files(kinds: tuple[str, ...] = OBJECT_KINDS) -> list[Path]:
    paths = sorted(OBJECTS_DIR.glob("*.sql"))
    return [path for kind in kinds for path in paths if object_kind(path) == kind]


def object_key(path: Path) -> str:
    """How an object file is named in the checksum table (beside the migrations, whose keys are revision ids)."""
    return path.relative_to(SQL_DIR).as_posix()


def apply_objects(conn: Connection, kinds: tuple[str, ...] = OBJECT_KINDS) -> list[str]:
    """(Re-)apply every object file of these kinds whose checksum is not the one stored; returns their keys.

    The functions' files are applied with their bodies checked when called, not when created (as pg_dump's restore
    does): an SQL function may call one whose file sorts after its own."""
    checking_before = conn.execute(text("SELECT current_setting('check_function_bodies')")).scalar_one()
    stored: dict[str, str] = dict(
        conn.execute(text(f"SELECT revision, sha256 FROM {CHECKSUM_TABLE} WHERE revision LIKE 'objects/%'")).all()
    )
    applied: list[str] = []
    for path in object_files(kinds):
        key, sha = object_key(path), file_checksum(path)
        if stored.get(key) == sha:
            continue
        checking = object_kind(path) != "function"
        conn.execute(text("SELECT set_config('check_function_bodies', :on, true)"), {"on": str(checking).lower()})
        run_script(conn, path.read_text())
        conn.execute(
            text(
                f"INSERT INTO {CHECKSUM_TABLE} (revision, filename, sha256) VALUES (:k, :k, :s)"
                " ON CONFLICT (revision) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()"
            ),
            {"k": key, "s": sha},
        )
        applied.append(key)
    conn.execute(text("SELECT set_config('check_function_bodies', :on, true)"), {"on": checking_before})
    # the file of an object a migration dropped is gone: so is its checksum
    known = [object_key(p) for p in object_files()]
    conn.execute(
        text(f"DELETE FROM {CHECKSUM_TABLE} WHERE revision LIKE 'objects/%' AND revision <> ALL (:known)"),
        {"known": known},
    )
    return applied


def objects_installed(conn: Connection) -> bool:
    baseline = conn.execute(text(f"SELECT 1 FROM {CHECKSUM_TABLE} WHERE revision = :r"), {"r": BASELINE})
    return baseline.first() is not None


def statement_end(sql: str, start: int) -> int:
    """Index just past the `;` that ends the SQL statement starting at `start` (skipping comments, quoted strings
    and dollar-quoted bodies)."""
    i = start
    while i < len(sql):
        if sql.startswith("--", i):
            i = sql.find("\n", i)
            if i < 0:
                break
        elif sql[i] == "'":
            i = sql.find("'", i + 1)
            while sql.startswith("''", i):
                i = sql.find("'", i + 2)
        elif sql[i] == "$" and (tag := re.match(r"\$[A-Za-z_]*\$", sql[i:])):
            i = sql.index(tag.group(), i + len(tag.group())) + len(tag.group()) - 1
        elif sql[i] == ";":
            return i + 1
        i += 1
    return len(sql)


def sop_definition(kind: str, name: str) -> str | None:
    """The SOP's own CREATE statement of a function or view (its last one in the migrations before the baseline),
    made replaceable; None when the SOP did not define it."""
    keyword = kind.upper()
    found = None
    for path in sorted(SQL_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        if path.name[:4] >= BASELINE:
            continue
        sql = path.read_text()
        for match in re.finditer(rf"^CREATE (?:OR REPLACE )?{keyword} {name}\b", sql, re.M):
            found = sql[match.start() : statement_end(sql, match.start())]
    return None if found is None else re.sub(r"^CREATE (?:OR REPLACE )?", "CREATE OR REPLACE ", found)


def drop_objects(conn: Connection) -> None:
    """The baseline's objects removed, triggers first: each trigger function with the triggers that execute it, each
    view, each function (every overload of its name); a function or view the SOP defined gets the SOP's form back."""
    for path in reversed(object_files()):
        kind, name = object_kind(path), path.stem
        if kind == "trigger":
            for trigger, table in conn.execute(
                text(
                    "SELECT t.tgname, t.tgrelid::regclass::text FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
                    " WHERE p.proname = :n AND p.pronamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
                ),
                {"n": name},
            ).all():
                conn.execute(text(f'DROP TRIGGER "{trigger}" ON {table}'))
        sop = sop_definition("view" if kind == "view" else "function", name)
        if sop is not None:
            run_script(conn, sop)
        elif kind == "view":
            conn.execute(text(f'DROP VIEW IF EXISTS "{name}"'))
        else:
            for signature in conn.execute(
                text(
                    "SELECT oid::regprocedure::text FROM pg_proc"
                    " WHERE proname = :n AND pronamespace = current_schema()::regnamespace"
                ),
                {"n": name},
            ).scalars():
                conn.execute(text(f"DROP FUNCTION {signature}"))
    conn.execute(text(f"DELETE FROM {CHECKSUM_TABLE} WHERE revision LIKE 'objects/%'"))


def folded_manifest() -> dict[str, tuple[str, str]]:
    """revision -> (file, sha256) of each migration the baseline folds, as released."""
    rows = [line.split() for line in FOLDED_MANIFEST.read_text().splitlines() if line and not line.startswith("#")]
    return {revision: (filename, sha) for revision, filename, sha in rows}


def adopt_folded_history(conn: Connection) -> None:
    """A database migrated by the released head (up to 0045 through the migrations the baseline folds) has the
    baseline's schema and rows: its bookkeeping is rewritten to say so (the checksum of each folded file, checked
    against the released one, becomes the baseline's; what they recorded becomes the baseline's record), and nothing
    is run again. A database stopped at a folded revision before 0045 was never released: refused in one line."""
    folded = folded_manifest()
    rows = conn.execute(
        text(f"SELECT revision, filename, sha256 FROM {CHECKSUM_TABLE} WHERE revision = ANY (:r)"), {"r": list(folded)}
    ).all()
    if not [r for r in rows if (r.revision, r.filename) != (BASELINE, sql_file_for(BASELINE).name)]:
        return
    current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if current != BASELINE:
        raise CampaignOpsError(
            f"this database is at revision {current}, a development revision folded into the baseline {BASELINE}; "
            f"bring it to {BASELINE} with the release that has {current}, or rebuild it; nothing changed"
        )
    for revision, filename, sha in rows:
        if folded[revision] != (filename, sha):
            raise MigrationChecksumError(
                f"migration {revision} was applied from a sql/{filename} that is not the released one, so its schema "
                f"is not the baseline's; nothing changed"
            )
    conn.execute(text(f"DELETE FROM {CHECKSUM_TABLE} WHERE revision = ANY (:r)"), {"r": list(folded)})
    conn.execute(
        text(f"INSERT INTO {CHECKSUM_TABLE} (revision, filename, sha256) VALUES (:r, :f, :s)"),
        {"r": BASELINE, "f": sql_file_for(BASELINE).name, "s": file_checksum(sql_file_for(BASELINE))},
    )
    conn.execute(
        text(f"DELETE FROM {CHANGES_TABLE} WHERE revision = ANY (:r) AND change = 'applied'"), {"r": list(folded)}
    )
    conn.execute(
        text(f"UPDATE {CHANGES_TABLE} SET revision = :b WHERE revision = ANY (:r)"), {"b": BASELINE, "r": list(folded)}
    )
    conn.execute(
        text(f"INSERT INTO {CHANGES_TABLE} (revision, change, object) VALUES (:b, 'applied', NULL)"), {"b": BASELINE}
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
    rows = conn.execute(
        # an object's file may change: that re-applies it (apply_objects)
        text(f"SELECT revision, filename, sha256 FROM {CHECKSUM_TABLE} WHERE revision NOT LIKE 'objects/%' ORDER BY 1")
    )
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
    if revision == BASELINE:
        apply_objects(conn, ("function", "view"))
        run_script(conn, (DATA_DIR / f"{revision}.sql").read_text())
        apply_objects(conn, ("trigger",))
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
    and forget its checksum and records. The baseline's objects go first: its rollback drops what they read."""
    if revision == BASELINE:
        drop_objects(conn)
    run_script(conn, rollback_file_for(revision).read_text())
    conn.execute(text(f"DELETE FROM {CHECKSUM_TABLE} WHERE revision = :r"), {"r": revision})
    conn.execute(text(f"DELETE FROM {CHANGES_TABLE} WHERE revision = :r"), {"r": revision})


def check_target(to: str) -> None:
    """An unknown revision is refused in one line, before any connection (Alembic's own error is a traceback)."""
    if to not in ("base", "head") and to not in all_revisions():
        raise CampaignOpsError(f"unknown revision {to!r}; known: base, head, {', '.join(all_revisions())}")


def upgrade(url: str, to: str = "head") -> list[str]:
    """Apply migrations up to `to`, then the object files that changed; returns the revisions and object files this
    call applied (empty when already there)."""
    from alembic import command

    check_target(to)
    config = alembic_config(url)
    command.upgrade(config, to)
    return [*config.attributes.get("applied", []), *config.attributes.get("objects", [])]


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
