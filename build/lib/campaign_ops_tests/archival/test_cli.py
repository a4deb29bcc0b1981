"""`campaign-ops archive`, through the real command line."""

import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection

from campaign_ops.cli import main
from campaign_ops_tests.archival.builders import clients_with_history, everything, where_rows_are


def test_archive_all_then_again(conn: Connection, db_env: str) -> None:
    clients = clients_with_history(conn, 2)
    before = {c: everything(conn, c) for c in clients}
    runner = CliRunner()

    planned = runner.invoke(main, ["archive", "--dry-run"])
    assert planned.exit_code == 0, planned.output
    assert "dry run: 2 client(s): would archive 4 lead-log rows, 2 runs" in planned.output
    assert "VACUUM" not in planned.output

    done = runner.invoke(main, ["archive"])
    assert done.exit_code == 0, done.output
    for i, client in enumerate(clients):
        assert f"client Client {i} ({client}): archived 2 lead-log rows, 1 runs" in done.output
    assert "2 client(s): archived 4 lead-log rows, 2 runs" in done.output
    assert "VACUUM (ANALYZE) de_enrollment_runs, de_enrollment_lead_log:" in done.output
    assert "de_enrollment_lead_log_archive" in done.output

    again = runner.invoke(main, ["archive"])
    assert "2 client(s): archived 0 lead-log rows, 0 runs" in again.output
    assert {c: everything(conn, c) for c in clients} == before


def test_archive_one_client_with_a_shorter_retention(conn: Connection, db_env: str) -> None:
    clients = clients_with_history(conn, 2)
    untouched = where_rows_are(conn, clients[1])
    result = CliRunner().invoke(main, ["archive", "--client-id", clients[0], "--older-than-days", "5"])
    assert result.exit_code == 0, result.output
    assert f"client Client 0 ({clients[0]}): archived 3 lead-log rows, 3 runs" in result.output
    assert where_rows_are(conn, clients[1]) == untouched
    split = CliRunner().invoke(
        main,
        ["archive", "--client-id", clients[1], "--runs-older-than-days", "100", "--lead-log-older-than-days", "50"],
    )
    assert f"client Client 1 ({clients[1]}): archived 2 lead-log rows, 1 runs" in split.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than-days", "0"], "must be positive (days to keep), got 0"),
        (["--runs-older-than-days", "-3"], "runs retention (runs_retention_days, --runs-older-than-days) must be"),
        (["--lead-log-older-than-days", "0"], "lead-log retention"),
        (["--older-than-days", "10", "--runs-older-than-days", "20"], "give --older-than-days alone"),
        (["--client-id", "nope"], "client id 'nope' is not a uuid"),
        (["--client-id", "00000000-0000-0000-0000-000000000001"], "unknown client id(s)"),
    ],
)
def test_archive_bad_input_is_one_clear_error(conn: Connection, db_env: str, args: list[str], message: str) -> None:
    clients = clients_with_history(conn, 1)
    before = where_rows_are(conn, clients[0])
    result = CliRunner().invoke(main, ["archive", *args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert where_rows_are(conn, clients[0]) == before


def test_archive_with_no_active_client(db_env: str) -> None:
    result = CliRunner().invoke(main, ["archive", "--client-id", str(uuid.uuid4())])
    assert result.exit_code == 1 and "unknown client id(s)" in result.output
    empty = CliRunner().invoke(main, ["archive"])
    assert empty.exit_code == 1 and "error: there are no active clients" in empty.output
