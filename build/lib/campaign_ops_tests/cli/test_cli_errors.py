import os
import subprocess
import sys

import pytest


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "campaign_ops.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://ops:s3cr3t-pw@127.0.0.1:1/campaign_ops",
            "cannot connect to PostgreSQL at postgresql+psycopg2://ops:***@127.0.0.1:1/campaign_ops",
        ),
        ("not a url at all s3cr3t-pw", "DATABASE_URL is malformed"),
        ("mysql://ops:s3cr3t-pw@127.0.0.1/db", "DATABASE_URL must be a PostgreSQL URL"),
        ("postgresql://ops:s3cr3t-pw@127.0.0.1:5432", "DATABASE_URL names no database"),
    ],
    ids=["unreachable", "malformed", "not-postgres", "no-database"],
)
def test_bad_database_url_gives_one_clear_line_without_secret(url: str, expected: str) -> None:
    proc = run_cli("db", "status", env={"DATABASE_URL": url})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "s3cr3t-pw" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_bad_arguments_are_refused(db_env: str) -> None:
    proc = run_cli("demo", "seed", "--clients", "0")
    assert proc.returncode == 2
    assert "Invalid value for '--clients'" in proc.stderr
    proc = run_cli("db", "downgrade", "--to", "9999")
    assert proc.returncode == 2
    assert "unknown revision '9999'" in proc.stderr


def test_db_status_and_seed_through_the_cli(db_env: str) -> None:
    proc = run_cli("db", "status")
    assert proc.returncode == 0, proc.stderr
    assert "pending:  none" in proc.stdout
    proc = run_cli("demo", "seed", "--clients", "2", "--campaigns-per-client", "1", "--leads", "50", "--seed", "5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("seeded 2 clients (1 inactive), 2 campaigns, 50 leads")
