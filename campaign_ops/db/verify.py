"""`db verify`: every table, column, view, function, trigger and index the migrations create, checked on the live
database against one committed statement of the schema, `schema_snapshot.txt` beside this file.

The status report's lesson: a verification that checks 10 things passes while the code reads 60. The snapshot is
generated from a freshly migrated database (`.venv/bin/python -m campaign_ops_tests.db.test_verify`), and a test
fails when the migrations and the snapshot disagree, so it names everything and nothing is typed twice.
"""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from campaign_ops.sqlfiles import load_sql

SNAPSHOT = Path(__file__).with_name("schema_snapshot.txt")


@dataclass(frozen=True)
class VerifyItem:
    kind: str
    name: str
    ok: bool


def live_catalog(conn: Connection) -> list[tuple[str, str]]:
    """(kind, name) of every object of the current schema, sorted: tables and views with their columns, functions,
    triggers and indexes."""
    return sorted((kind, name) for kind, name in conn.execute(load_sql(__file__, "catalog.sql")))


def expected_objects() -> list[tuple[str, str]]:
    lines = SNAPSHOT.read_text().splitlines()
    return [(kind, name) for kind, name in (line.split(" ", 1) for line in lines if line and not line.startswith("#"))]


def render_snapshot(catalog: list[tuple[str, str]]) -> str:
    header = "# The schema the migrations create (campaign_ops/db/verify.py says how to regenerate it).\n"
    return header + "".join(f"{kind} {name}\n" for kind, name in catalog)


def verify_schema(conn: Connection) -> list[VerifyItem]:
    """One item per expected object, in the snapshot's order; `ok` says whether the live database has it. Objects
    the database has beyond the snapshot (an adopted legacy database's own, SOP backups) are not reported."""
    live = set(live_catalog(conn))
    return [VerifyItem(kind, name, (kind, name) in live) for kind, name in expected_objects()]
