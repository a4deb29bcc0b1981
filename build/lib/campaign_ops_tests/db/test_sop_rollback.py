"""The SOP's rollback procedure end to end, through the real CLI: backup → upgrade → de-enroll → restore →
downgrade gives back the base tables exactly as if nothing had been deployed; restore after the schema rollback
is refused in one line that gives the order that works."""

import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from campaign_ops.cli import main
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.db.migrations import run_script
from campaign_ops_tests.conftest import create_database, drop_database
from campaign_ops_tests.db.pgdump import full_dump, pg_dump_binary, server_major

# a schema of revision 0020 (the SOP's backups carry completion tracking and the campaign counters)
DATA = """
INSERT INTO clients (id, company_name, email, airtable_base_id, created_at, updated_at)
VALUES ('11111111-1111-1111-1111-111111111111', 'Rollback Co', 'ops@rollback.example', 'appROLL',
        '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z');
INSERT INTO campaigns (id, client_id, name, messages, created_at, updated_at)
VALUES ('22222222-2222-2222-2222-222222222222', '11111111-1111-1111-1111-111111111111', 'Three steps',
        '["a","b","c"]', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z');
INSERT INTO leads (id, client_id, campaign_link_id, first_name, current_message_position, opted_out,
                   booked_meeting, created_at, updated_at)
SELECT md5('rollback' || n)::uuid, '11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222',
       'L' || n, n % 5, n % 9 = 0, n % 13 = 0, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'
  FROM generate_series(1, 60) AS n;
UPDATE campaigns SET active_leads_count = 60;
"""
BASE_TABLES = ("clients", "campaigns", "leads")


@pytest.fixture
def twin_url(admin_url: str) -> Iterator[str]:
    name = f"co_twin_{uuid.uuid4().hex[:16]}"
    yield create_database(admin_url, name)
    drop_database(admin_url, name)


def seed_at_0020(url: str) -> None:
    migrations.upgrade(url, "0020")
    engine = make_engine(url, pooled=False)
    with engine.begin() as c:
        run_script(c, DATA)
    engine.dispose()


def base_tables_dump(url: str, binary: str) -> str:
    """The base tables, whole, except `updated_at`: the SOP's restore sets is_active, completed_at,
    campaign_history and the counters back, and leaves updated_at saying when a row was last written."""
    return full_dump(url, binary, tables=BASE_TABLES, masked=("updated_at",))


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_sop_rollback_procedure_loses_nothing(
    empty_db_url: str, twin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = pg_dump_binary(server_major(empty_db_url))
    if binary is None:
        pytest.skip("no pg_dump of the server's major version on this machine")
    # the twin: the same data, never deployed to, then rolled back to the SOP's pre-0019 schema
    seed_at_0020(twin_url)
    migrations.downgrade(twin_url, "0002")
    expected = base_tables_dump(twin_url, binary)

    seed_at_0020(empty_db_url)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    engine = make_engine(empty_db_url, pooled=False)
    with engine.connect() as c:
        day = c.execute(text("SELECT to_char(current_date, 'YYYYMMDD')")).scalar_one()

    code, out, err = cli("backup")
    assert code == 0, err
    code, out, err = cli("db", "upgrade")
    assert code == 0, err
    code, out, err = cli("de-enroll", "--all")
    assert code == 0, err
    with engine.connect() as c:
        ended = c.execute(text("SELECT count(*) FROM leads WHERE NOT is_active")).scalar_one()
    assert ended > 0  # the deployment did change leads

    # SOP Step 3 before Step 4 does not work: refused in one line that gives the working order
    code, out, err = cli("db", "downgrade", "--to", "0002")
    assert code == 0, err
    before_refusal = base_tables_dump(empty_db_url, binary)
    code, out, err = cli("restore", "--from", day)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "restore before rolling back" in err and f"restore --from {day}" in err
    assert base_tables_dump(empty_db_url, binary) == before_refusal

    # the order that works: schema back up, restore, then roll back
    code, out, err = cli("db", "upgrade")
    assert code == 0, err
    code, out, err = cli("restore", "--from", day)
    assert code == 0, err
    assert f"leads:     {ended} changed of 60 in the backup" in out
    code, out, err = cli("db", "downgrade", "--to", "0002")
    assert code == 0, err

    assert base_tables_dump(empty_db_url, binary) == expected
    # and updated_at moved only on what the deployment wrote: the leads it ended and their campaign
    with engine.connect() as c:
        touched = c.execute(text("SELECT count(*) FROM leads WHERE updated_at > '2025-01-01T00:00:00Z'")).scalar_one()
    engine.dispose()
    assert touched == ended
