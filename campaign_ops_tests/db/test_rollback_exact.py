"""`db downgrade --to base` gives back exactly the database that was there before the first `db upgrade`:
a full pg_dump (every table, column, index, constraint and row) compared, on a legacy database and a fresh one."""

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.db.migrations import run_script
from campaign_ops_tests.db.pgdump import full_dump, pg_dump_binary, server_major
from campaign_ops_tests.db.test_legacy_adoption import LEGACY_SCHEMA


@pytest.fixture
def pg_dump(empty_db_url: str) -> Iterator[str]:
    major = server_major(empty_db_url)
    binary = pg_dump_binary(major)
    if binary is None:
        pytest.skip(f"no pg_dump of PostgreSQL {major} on this machine (embedded server's or /usr/lib/postgresql)")
    yield binary


def test_legacy_database_comes_back_identical_after_upgrade_and_downgrade_to_base(
    empty_db_url: str, pg_dump: str
) -> None:
    engine = make_engine(empty_db_url, pooled=False)
    with engine.begin() as c:
        run_script(c, LEGACY_SCHEMA)
    engine.dispose()
    before = full_dump(empty_db_url, pg_dump)
    assert before.count("Legacy Co") == 1 and "processing_status" in before

    migrations.upgrade(empty_db_url)
    assert full_dump(empty_db_url, pg_dump) != before
    migrations.downgrade(empty_db_url, "base")

    assert full_dump(empty_db_url, pg_dump) == before


def test_fresh_database_comes_back_empty_after_upgrade_and_downgrade_to_base(empty_db_url: str, pg_dump: str) -> None:
    before = full_dump(empty_db_url, pg_dump)
    migrations.upgrade(empty_db_url)
    assert "CREATE TABLE public.leads" in full_dump(empty_db_url, pg_dump)
    migrations.downgrade(empty_db_url, "base")
    assert full_dump(empty_db_url, pg_dump) == before


def test_each_step_down_from_a_legacy_database_keeps_its_rows(empty_db_url: str, pg_dump: str) -> None:
    """Every intermediate rollback as well: up to each revision and straight back down to base."""
    engine = make_engine(empty_db_url, pooled=False)
    with engine.begin() as c:
        run_script(c, LEGACY_SCHEMA)
    engine.dispose()
    before = full_dump(empty_db_url, pg_dump)
    for revision in ("0001", "0002", "0019", "0020"):
        migrations.upgrade(empty_db_url, revision)
        migrations.downgrade(empty_db_url, "base")
        assert full_dump(empty_db_url, pg_dump) == before, f"up to {revision} and down to base changed the database"


def test_database_migrated_before_the_record_gets_it_from_the_baseline(empty_db_url: str, pg_dump: str) -> None:
    """A legacy database migrated by a runner that kept no record of 0001: the baseline records that 0001 created
    nothing there, so going down to base still keeps the legacy tables and rows."""
    engine = make_engine(empty_db_url, pooled=False)
    with engine.begin() as c:
        run_script(c, LEGACY_SCHEMA)
    before = full_dump(empty_db_url, pg_dump)
    migrations.upgrade(empty_db_url, "0027")
    with engine.begin() as c:
        c.execute(text("DELETE FROM campaign_ops_migration_changes WHERE revision = '0001'"))
    migrations.upgrade(empty_db_url)
    with engine.connect() as c:
        recorded = c.execute(
            text("SELECT change, object FROM campaign_ops_migration_changes WHERE revision = '0001'")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in recorded] == [("applied", None)]
    migrations.downgrade(empty_db_url, "base")
    assert full_dump(empty_db_url, pg_dump) == before
