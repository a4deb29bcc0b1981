from click.testing import CliRunner
from sqlalchemy import Connection, text

from campaign_ops.cli import main
from campaign_ops.db.verify import EXPECTED_COLUMNS, verify_schema


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
    conn.commit()
    missing = {(i.kind, i.name) for i in verify_schema(conn) if not i.ok}
    assert ("column", "leads.campaign_history") in missing
    assert ("view", "de_enrollment_health") in missing
    assert ("index", "leads_de_enrollment_candidates_idx") in missing
    assert ("function", "process_de_enrollment_batch") in missing
    result = CliRunner().invoke(main, ["db", "verify"])
    assert result.exit_code == 1
    assert "❌ column   leads.campaign_history" in result.output


def test_verify_covers_every_column_of_every_table(conn: Connection) -> None:
    """The expected list is complete: nothing in our tables escapes verification."""
    for table, expected in EXPECTED_COLUMNS.items():
        live = set(
            conn.execute(
                text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"), {"t": table}
            ).scalars()
        )
        assert live == set(expected), table
