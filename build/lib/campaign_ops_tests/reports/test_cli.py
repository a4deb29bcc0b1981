"""`campaign-ops health-check`, `check` and `report daily|weekly` through the real CLI on real PostgreSQL."""

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from campaign_ops.cli import main
from campaign_ops.reports.core import daily_health_report, weekly_review_report
from campaign_ops_tests.checks.helpers import add_leads, add_runs, refresh_counters
from campaign_ops_tests.factories import add_campaign, add_client
from campaign_ops_tests.reports.test_core import build_week


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_health_check_all_good(conn: Connection, db_env: str) -> None:
    a, b = add_client(conn, name="Acme"), add_client(conn, name="Bolt")
    add_runs(conn, a, count=96, minutes_ago=1, spacing_minutes=15)
    add_runs(conn, b, count=4, minutes_ago=2, spacing_minutes=15)
    conn.commit()
    code, output = run("health-check")
    assert code == 0
    assert output.splitlines() == [
        f"✅ Client Acme ({a}) processed successfully in last 24h (96 runs, 100.00% successful)",
        f"✅ Client Bolt ({b}) processed successfully in last 24h (4 runs, 100.00% successful)",
        "✅ All 2 client(s) processed successfully in last 24h",
    ]


def test_health_check_warns_and_fails_as_the_sop_shows(conn: Connection, db_env: str) -> None:
    ok, x, y = add_client(conn, name="Okay"), add_client(conn, name="X"), add_client(conn, name="Y")
    add_runs(conn, ok, count=10, minutes_ago=1, spacing_minutes=15)
    add_runs(conn, x, count=3, status="success", minutes_ago=1, spacing_minutes=15)
    add_runs(conn, x, count=3, status="failed", minutes_ago=2, spacing_minutes=15, error_details="lock timeout")
    add_runs(conn, y, count=1, status="success", minutes_ago=25 * 60 - 1)
    add_runs(conn, y, count=2, status="failed", minutes_ago=30, spacing_minutes=60)
    conn.commit()

    code, output = run("health-check")
    assert code == 2  # a ❌ client
    lines = output.splitlines()
    assert f"⚠️ Client X ({x}) has a success rate of 50.00% in 24h (3 failed, 0 partial of 6 runs)" in lines
    assert any(line.startswith(f"❌ Client Y ({y}) hasn't run successfully in 25.0 hours") for line in lines)
    assert lines[-1] == "3 client(s): 1 ✅, 1 ⚠️, 1 ❌"

    code, output = run("health-check", "--only-problems")
    assert code == 2 and "Okay" not in output and len(output.splitlines()) == 3

    code, output = run("health-check", "--client-id", x)  # warnings alone exit 0
    assert code == 0 and output.splitlines()[0].startswith("⚠️ Client X")


def test_health_check_bad_input_and_unreachable_database(
    conn: Connection, db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = run("health-check", "--client-id", "nope")
    assert code == 1 and output.strip() == "error: client id 'nope' is not a uuid"
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:s3cr3t-pw@127.0.0.1:1/campaign_ops")
    code, output = run("health-check")
    assert code == 1
    assert output.startswith("error: cannot connect to PostgreSQL at") and "s3cr3t-pw" not in output
    assert len(output.strip().splitlines()) == 1


def test_check_command(conn: Connection, db_env: str) -> None:
    client = add_client(conn, name="Acme")
    campaign = add_campaign(conn, client, messages=3)
    add_leads(conn, client, campaign, count=501, position=3)
    refresh_counters(conn)
    add_runs(conn, client, minutes_ago=1)
    conn.commit()
    code, output = run("check")
    assert code == 2
    assert "❌ stuck_leads: 501 stuck lead(s) in 1 client(s)" in output
    assert "stuck_leads_sample:\n| id | client | campaign | position | sequence length |" in output
    assert "✅ stats_drift:" in output and "✅ schema_contract:" in output
    assert "✅ de_enrollment_health:" in output and "✅ duplicate_de_enrollments:" in output

    code, output = run("check", "schema_contract")
    assert code == 0 and output.startswith("✅ schema_contract: all ") and len(output.splitlines()) == 1

    conn.execute(text("ALTER TABLE leads DROP COLUMN booked_meeting CASCADE"))
    conn.commit()
    code, output = run("check", "schema_contract")
    assert code == 2 and "| column | leads.booked_meeting |" in output


def test_report_commands_print_what_the_ui_shows(conn: Connection, db_env: str) -> None:
    build_week(conn)
    code, output = run("report", "daily")
    assert code == 0, output
    assert daily_health_report(conn).markdown() in output
    assert "total_runs: 22 | successful_runs: 17 | failed_runs: 3 | partial_runs: 2 | leads_processed: 148" in output

    code, output = run("report", "weekly")
    assert code == 0, output
    assert weekly_review_report(conn).markdown() in output
    assert "runs_7d: 32" in output

    code, output = run("report", "monthly")
    assert code == 2 and "Invalid value for '{daily|weekly}'" in output
