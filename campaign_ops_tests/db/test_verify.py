"""`db verify` against the committed schema snapshot.

To accept a schema change (a new migration): `.venv/bin/python -m campaign_ops_tests.db.test_verify`, which migrates
a scratch database on the test server and rewrites campaign_ops/db/schema_snapshot.txt; review and commit the diff.
"""

import uuid

from click.testing import CliRunner
from sqlalchemy import Connection, text

from campaign_ops.cli import main
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.db.verify import SNAPSHOT, expected_objects, live_catalog, render_snapshot, verify_schema

UPDATE_COMMAND = ".venv/bin/python -m campaign_ops_tests.db.test_verify"


def test_the_migrations_create_exactly_the_snapshot(conn: Connection) -> None:
    assert render_snapshot(live_catalog(conn)) == SNAPSHOT.read_text(), (
        f"the migrations and campaign_ops/db/schema_snapshot.txt disagree: if the change is intended, run "
        f"`{UPDATE_COMMAND}` and commit the snapshot"
    )


def test_verify_passes_on_the_migrated_schema(conn: Connection, db_env: str) -> None:
    items = verify_schema(conn)
    assert len(items) > 100 and all(i.ok for i in items), [i for i in items if not i.ok]
    result = CliRunner().invoke(main, ["db", "verify"])
    assert result.exit_code == 0, result.output
    assert "Failed: 0" in result.output


def test_verify_fails_and_names_what_was_dropped(conn: Connection, db_env: str) -> None:
    conn.execute(text("DROP VIEW de_enrollment_health"))
    conn.execute(text("ALTER TABLE leads DROP COLUMN campaign_history"))
    conn.execute(text("DROP INDEX leads_de_enrollment_candidates_idx"))
    conn.execute(text("DROP FUNCTION process_de_enrollment_batch(uuid, uuid[])"))
    conn.execute(text("DROP TRIGGER leads_mark_due_on_update ON leads"))
    conn.commit()
    missing = {(i.kind, i.name) for i in verify_schema(conn) if not i.ok}
    assert {
        ("column", "leads.campaign_history"),
        ("view", "de_enrollment_health"),
        ("index", "leads_de_enrollment_candidates_idx"),
        ("function", "process_de_enrollment_batch"),
        ("trigger", "leads.leads_mark_due_on_update"),
    } <= missing
    result = CliRunner().invoke(main, ["db", "verify"])
    assert result.exit_code == 1
    assert "❌ column   leads.campaign_history" in result.output


def test_objects_beyond_the_snapshot_are_not_failures(conn: Connection) -> None:
    """An adopted legacy database keeps tables of its own, and the SOP's backups add tables: not missing objects."""
    conn.execute(text("CREATE TABLE leads_backup_20240101 AS SELECT * FROM leads"))
    conn.commit()
    assert all(i.ok for i in verify_schema(conn))
    assert len(verify_schema(conn)) == len(expected_objects())


def _write_snapshot() -> None:
    from campaign_ops_tests.conftest import _server_admin_url, create_database, drop_database

    admin = _server_admin_url()
    name = f"co_snapshot_{uuid.uuid4().hex[:12]}"
    url = create_database(admin, name)
    try:
        migrations.upgrade(url)
        engine = make_engine(url, pooled=False)
        with engine.connect() as conn:
            SNAPSHOT.write_text(render_snapshot(live_catalog(conn)))
        engine.dispose()
    finally:
        drop_database(admin, name)
    print(f"wrote {SNAPSHOT}")


if __name__ == "__main__":
    _write_snapshot()
