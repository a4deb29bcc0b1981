"""`campaign-ops reconcile`, through the real command line."""

import os
import subprocess
import sys
import uuid

from click.testing import CliRunner
from sqlalchemy import Connection, Engine, text

from campaign_ops.cli import main
from campaign_ops_tests.factories import add_client
from campaign_ops_tests.reconciliation.builders import (
    Leads,
    add_campaign_with_leads,
    campaigns_snapshot,
    counters,
    log_rows,
    refresh_all_counters,
    set_counter,
)


def two_drifting_clients(conn: Connection) -> tuple[str, str, str, str]:
    a, b = add_client(conn, name="Acme"), add_client(conn, name="Bolt")
    ca = add_campaign_with_leads(conn, a, Leads(active=4, booked=1), name="Spring")
    cb = add_campaign_with_leads(conn, b, Leads(active=2), name="Autumn")
    refresh_all_counters(conn)
    set_counter(conn, ca, "active_leads_count", 11)
    set_counter(conn, ca, "booked_count", 0)
    set_counter(conn, cb, "active_leads_count", 1)
    conn.commit()
    return a, b, ca, cb


def test_reconcile_one_client_prints_its_drift_and_corrects_it(conn: Connection, db_env: str) -> None:
    a, _b, ca, cb = two_drifting_clients(conn)
    result = CliRunner().invoke(main, ["reconcile", "--client-id", a])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        f"client Acme ({a}): 1 campaigns checked, 1 drifted, total |difference| 8, largest 7; corrected 1 campaigns"
    )
    assert lines[1] == f"  Spring ({ca}) active_leads_count: reported 11, actual 4 (-7)"
    assert lines[2] == f"  Spring ({ca}) booked_count: reported 0, actual 1 (+1)"
    assert lines[3].startswith("1 client(s), 1 campaigns checked, 1 drifted, total |difference| 8, largest 7 in ")
    assert counters(conn, ca) == (4, 0, 0, 1)
    assert counters(conn, cb)[0] == 1
    assert {(r[1], r[6]) for r in log_rows(conn)} == {("active_leads_count", None), ("booked_count", None)}


def test_reconcile_all_dry_run_changes_nothing(conn: Connection, db_env: str) -> None:
    two_drifting_clients(conn)
    before = campaigns_snapshot(conn)
    conn.commit()
    result = CliRunner().invoke(main, ["reconcile", "--all", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would correct 1 campaigns" in result.output
    assert "dry run: 2 client(s), 2 campaigns checked, 2 drifted, total |difference| 9, largest 7; nothing changed" in (
        result.output
    )
    assert campaigns_snapshot(conn) == before and log_rows(conn) == []


def test_reconcile_bad_input(conn: Connection, db_env: str) -> None:
    a, *_ = two_drifting_clients(conn)
    before = campaigns_snapshot(conn)
    conn.commit()
    runner = CliRunner()
    neither = runner.invoke(main, ["reconcile"])
    assert (
        neither.exit_code == 2
        and 'give either --client "<name>" / --client-id <uuid> (repeatable) or --all' in neither.output
    )
    both = runner.invoke(main, ["reconcile", "--all", "--client-id", a])
    assert both.exit_code == 2
    unknown = str(uuid.uuid4())
    proc = subprocess.run(
        [sys.executable, "-m", "campaign_ops.cli", "reconcile", "--client-id", a, "--client-id", unknown],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: unknown client id(s): {unknown}"
    timeout = runner.invoke(main, ["reconcile", "--all", "--lock-timeout", "0"])
    assert timeout.exit_code == 1 and "lock_timeout_seconds must be in (0, 3600], got 0.0" in timeout.output
    assert campaigns_snapshot(conn) == before and log_rows(conn) == []


def test_reconcile_names_a_busy_client_and_exits_1(conn: Connection, engine: Engine, db_env: str) -> None:
    a, b, ca, cb = two_drifting_clients(conn)
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": a})
        holder.commit()
        result = CliRunner().invoke(main, ["reconcile", "--all", "--lock-timeout", "0.3"])
    assert result.exit_code == 1
    assert f"client Bolt ({b}): 1 campaigns checked, 1 drifted" in result.output
    assert f"error: reconciliation failed for 1 client(s): Acme ({a}): client {a} is busy" in result.output
    assert counters(conn, ca)[0] == 11 and counters(conn, cb)[0] == 2
