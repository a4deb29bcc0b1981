"""The SOP's table backups and restore, through the core and the real CLI."""

from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from bench.sop_queries import SOP_BACKUP_CREATE, SOP_READ_ONLY_QUERIES
from campaign_ops.backups.core import (
    BackupExistsError,
    BackupNotFoundError,
    backup_tables,
    create_backup,
    parse_backup_day,
    restore_backup,
)
from campaign_ops.cli import main
from campaign_ops.errors import ConfigError
from campaign_ops_tests.factories import add_client
from campaign_ops_tests.reconciliation.builders import Leads, add_campaign_with_leads, refresh_all_counters

LEADS_RESTORED = "SELECT id, is_active, completed_at, campaign_history FROM leads ORDER BY id"
CAMPAIGNS_RESTORED = (
    "SELECT id, is_active, active_leads_count, completed_leads_count, opted_out_count, booked_count"
    " FROM campaigns ORDER BY id"
)


def rows(conn: Connection, query: str) -> list[tuple]:
    result = [tuple(r) for r in conn.execute(text(query))]
    conn.rollback()
    return result


def today(conn: Connection) -> str:
    day = conn.execute(text("SELECT to_char(current_date, 'YYYYMMDD')")).scalar_one()
    conn.rollback()
    return day


@pytest.fixture
def data(conn: Connection) -> str:
    client = add_client(conn)
    add_campaign_with_leads(conn, client, Leads(active=6, completed=2, opted_out=1, booked=1))
    add_campaign_with_leads(conn, client, Leads(active=3, completed=1))
    refresh_all_counters(conn)
    conn.commit()
    return client


def damage(conn: Connection) -> None:
    """What a bad deployment does: leads wrongly ended, history appended, counters broken, a campaign stopped."""
    conn.execute(
        text(
            "UPDATE leads SET is_active = false, completed_at = now(),"
            ' campaign_history = campaign_history || \'[{"outcome": "wrong"}]\'::jsonb'
            " WHERE id IN (SELECT id FROM leads WHERE is_active ORDER BY id LIMIT 5)"
        )
    )
    # and one lead that really completed loses its completion (not one of the five above: they have history)
    conn.execute(
        text(
            "UPDATE leads SET completed_at = NULL WHERE id ="
            " (SELECT id FROM leads WHERE completed_at IS NOT NULL AND campaign_history = '[]' ORDER BY id LIMIT 1)"
        )
    )
    conn.execute(text("UPDATE campaigns SET active_leads_count = 0, booked_count = booked_count + 4"))
    conn.execute(text("UPDATE campaigns SET is_active = false WHERE id = (SELECT min(id::text)::uuid FROM campaigns)"))
    conn.commit()


def test_backup_damage_restore_gives_back_the_original_rows(conn: Connection, db_env: str, data: str) -> None:
    leads_before, campaigns_before = rows(conn, LEADS_RESTORED), rows(conn, CAMPAIGNS_RESTORED)
    day = today(conn)
    runner = CliRunner()

    created = runner.invoke(main, ["backup"])
    assert created.exit_code == 0, created.output
    assert created.output.strip() == (
        f"created leads_backup_{day} ({len(leads_before)} rows) and campaigns_backup_{day} (2 rows)"
    )
    # the SOP's own checks of the backup work on it
    for name in ("rollback 2 leads backup", "rollback 2 campaigns backup"):
        query = SOP_READ_ONLY_QUERIES[name].replace("20241104", day)
        assert conn.execute(text(query)).scalar() in (len(leads_before), 2)
    conn.rollback()

    damage(conn)
    assert rows(conn, LEADS_RESTORED) != leads_before and rows(conn, CAMPAIGNS_RESTORED) != campaigns_before

    restored = runner.invoke(main, ["restore", "--from", day])
    assert restored.exit_code == 0, restored.output
    assert f"restored from leads_backup_{day} and campaigns_backup_{day} in one transaction:" in restored.output
    assert f"leads:     6 changed of {len(leads_before)} in the backup" in restored.output
    assert "campaigns: 2 changed of 2 in the backup" in restored.output
    assert rows(conn, LEADS_RESTORED) == leads_before
    assert rows(conn, CAMPAIGNS_RESTORED) == campaigns_before

    # restoring again changes nothing
    again = runner.invoke(main, ["restore", "--from", day])
    assert "leads:     0 changed" in again.output and "campaigns: 0 changed" in again.output


def test_an_existing_backup_is_kept_unless_replace_is_asked(conn: Connection, db_env: str, data: str) -> None:
    runner = CliRunner()
    day = today(conn)
    assert runner.invoke(main, ["backup"]).exit_code == 0
    conn.execute(text("UPDATE leads SET is_active = false"))
    conn.commit()

    refused = runner.invoke(main, ["backup"])
    assert refused.exit_code == 1
    assert f"error: a backup of {day} exists" in refused.output and "--replace" in refused.output
    # the first backup is intact: it still has the active leads
    assert conn.execute(text(f"SELECT count(*) FROM leads_backup_{day} WHERE is_active")).scalar() == 9
    conn.rollback()

    replaced = runner.invoke(main, ["backup", "--replace"])
    assert replaced.exit_code == 0 and replaced.output.startswith(f"replaced leads_backup_{day}")
    assert conn.execute(text(f"SELECT count(*) FROM leads_backup_{day} WHERE is_active")).scalar() == 0
    conn.rollback()
    assert runner.invoke(main, ["backup", "--force"]).exit_code == 0
    listed = runner.invoke(main, ["backup", "--list"])
    assert listed.output.split() == [day]


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("19990101", "no backup of 19990101 (missing leads_backup_19990101, campaigns_backup_19990101)"),
        ("2024-11-04", "backup date must be YYYYMMDD (8 digits), got '2024-11-04'"),
        ("20240230", "backup date 20240230 is not a real calendar date"),
        ("20241104; DROP TABLE leads", "backup date must be YYYYMMDD"),
        ("", "backup date must be YYYYMMDD"),
    ],
    ids=["no-backup", "dashes", "not-a-date", "injection", "empty"],
)
def test_restore_refuses_bad_dates_and_changes_nothing(
    conn: Connection, db_env: str, data: str, day: str, message: str
) -> None:
    damage(conn)
    leads_before, campaigns_before = rows(conn, LEADS_RESTORED), rows(conn, CAMPAIGNS_RESTORED)
    result = CliRunner().invoke(main, ["restore", "--from", day])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert rows(conn, LEADS_RESTORED) == leads_before and rows(conn, CAMPAIGNS_RESTORED) == campaigns_before
    assert conn.execute(text("SELECT to_regclass('leads')")).scalar() is not None


def test_restore_works_on_a_backup_made_by_the_sops_own_statements(conn: Connection, data: str) -> None:
    leads_before, campaigns_before = rows(conn, LEADS_RESTORED), rows(conn, CAMPAIGNS_RESTORED)
    for statement in SOP_BACKUP_CREATE.strip().splitlines():
        conn.execute(text(statement))
    conn.commit()
    damage(conn)
    result = restore_backup(conn, "20241104")
    assert (result.leads_changed, result.campaigns_changed) == (6, 2)
    assert (result.leads_only_in_backup, result.leads_only_live) == (0, 0)
    assert rows(conn, LEADS_RESTORED) == leads_before and rows(conn, CAMPAIGNS_RESTORED) == campaigns_before


def test_restore_refuses_a_half_or_incompatible_backup(conn: Connection, data: str) -> None:
    conn.execute(text("CREATE TABLE leads_backup_20240101 AS SELECT * FROM leads"))
    conn.execute(text("CREATE TABLE leads_backup_20240102 AS SELECT id, is_active FROM leads"))
    conn.execute(text("CREATE TABLE campaigns_backup_20240102 AS SELECT * FROM campaigns"))
    conn.commit()
    damage(conn)
    before = rows(conn, LEADS_RESTORED)
    with pytest.raises(BackupNotFoundError, match="missing campaigns_backup_20240101"):
        restore_backup(conn, "20240101")
    with pytest.raises(BackupNotFoundError, match="lacks column\\(s\\) completed_at, campaign_history"):
        restore_backup(conn, "20240102")
    assert rows(conn, LEADS_RESTORED) == before


def test_restore_reports_rows_deleted_or_created_since_the_backup(conn: Connection, data: str) -> None:
    create_backup(conn, day=date(2024, 5, 6))
    with pytest.raises(BackupExistsError):
        create_backup(conn, day=date(2024, 5, 6))
    gone = conn.execute(text("SELECT id FROM leads ORDER BY id LIMIT 1")).scalar()
    conn.execute(text("DELETE FROM leads WHERE id = :id"), {"id": gone})
    client = add_client(conn)
    add_campaign_with_leads(conn, client, Leads(active=2))
    conn.commit()
    result = restore_backup(conn, "20240506")
    assert (result.leads_only_in_backup, result.leads_only_live, result.campaigns_only_live) == (1, 2, 1)
    assert result.leads_changed == 0


def test_backup_day_validation() -> None:
    assert parse_backup_day(" 20241104 ") == "20241104"
    assert backup_tables(date(2024, 11, 4)).leads == "leads_backup_20241104"
    for bad in ("2024114", "202411040", "２０２４１１０４", "20241304", "abcdefgh"):
        with pytest.raises(ConfigError):
            parse_backup_day(bad)
