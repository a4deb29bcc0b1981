"""Bad input, command by command and variable by variable: each invocation exits non-zero with exactly one line on
stderr (no traceback, no secret) and leaves the de-enrollment tables (and silences) exactly as they were.

The database holds demo data with leads awaiting de-enrollment, so a bad value taken as "all clients" or as a
number would show as changed tables. Commands that go through Dagster (`run-job`, `dev`) run as real processes
(Dagster writes to the process's stderr itself); the others run in this process through click's CliRunner, where
an escaping exception (a traceback) is `result.exception` and stderr is captured.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from campaign_ops.cli import main
from campaign_ops.db.engine import make_engine
from campaign_ops_tests.conftest import create_database, drop_database

SECRET = "pw-s3cr3t"
SNAPSHOT_TABLES = ("leads", "campaigns", "de_enrollment_runs", "de_enrollment_lead_log", "alert_silences")
APP_DB = "<app database>"  # replaced by the module database's URL
SUBPROCESS_COMMANDS = {"run-job", "dev"}
ENV_NAMES = (
    "DATABASE_URL",
    "DAGSTER_PG_URL",
    "DAGSTER_HOME",
    "DE_ENROLLMENT_MAX_RUNTIME",
    "DE_ENROLLMENT_CHUNK_SIZE",
    "DE_ENROLLMENT_BATCH_SIZE",
)

BAD_CLIENT_IDS = ["", "   ", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "'; DROP TABLE leads; --"]
BAD_INTS = ["0", "-1", "2147483648", "99999999999999999999999", "２", "1_000", "1e3", "abc"]
BAD_DAYS = ["0", "-1", "36501", "２", "99999999999999999999999"]
BAD_DURATIONS = ["", "0m", "31d", "２h", "１h", "99999999999999999999999h", "9" * 5000 + "h", "1x", "h"]
BAD_BACKUP_DAYS = ["", "2024-11-04", "20241399", "２０２４１１０４", "99999999", "1"]
BAD_ENV_INTS = ["0", "-1", "2147483648", "99999999999999999999", "２", "1_000", "abc"]
BAD_URLS = [
    f"postgresql://ops:{SECRET}@db.example:abc/campaign_ops",  # malformed port
    f"postgresql://ops:{SECRET}@db.example:99999/campaign_ops",  # port out of range
    f"postgresql://ops:{SECRET}@127.0.0.1:1/campaign_ops",  # closed port
    f"mysql://ops:{SECRET}@127.0.0.1/campaign_ops",
    f"postgresql://ops:{SECRET}@127.0.0.1:5432",  # no database
    "",  # set but empty
]
URL_COMMANDS = [
    ["db", "status"],
    ["de-enroll", "--all"],
    ["health-check"],
    ["reconcile", "--all"],
    ["run-job", "de_enrollment_job"],
    ["dev", "check"],
]

CASES: list[tuple[list[str], dict[str, str]]] = []
for value in BAD_CLIENT_IDS:
    for command in (["run-job", "de_enrollment_job"], ["de-enroll"], ["reconcile"], ["archive"], ["check"]):
        CASES.append(([*command, "--client-id", value], {}))
    CASES.append((["alerts", "silence", "--for", "2h", "--client", value], {}))
for option in ("--max-runtime", "--chunk-size", "--batch-size"):
    for value in BAD_INTS:
        CASES.append((["de-enroll", "--all", option, value], {}))
for value in BAD_DAYS:
    CASES.append((["archive", "--older-than-days", value], {}))
    CASES.append((["dev", "prune-runs", "--older-than-days", value], {}))
for value in BAD_DURATIONS:
    CASES.append((["alerts", "silence", "--for", value], {}))
for value in BAD_BACKUP_DAYS:
    CASES.append((["restore", "--from", value], {}))
for value in ["", "no such campaign"]:
    CASES.append((["lifecycle", "status", value], {}))
for value in ["0", "-1", "99999999999999999999999", "２"]:
    CASES.append((["alerts", "stats", "--hours", value], {}))
    CASES.append((["health-check", "--statement-timeout-ms", value], {}))
for variable in ("DE_ENROLLMENT_MAX_RUNTIME", "DE_ENROLLMENT_CHUNK_SIZE", "DE_ENROLLMENT_BATCH_SIZE"):
    for value in BAD_ENV_INTS:
        CASES.append((["de-enroll", "--all"], {variable: value}))
    # the Dagster door, once per variable (slower: it imports Dagster)
    CASES.append((["run-job", "de_enrollment_job"], {variable: "2147483648"}))
    CASES.append((["run-job", "de_enrollment_job"], {variable: "２"}))
for url in BAD_URLS:
    for command in URL_COMMANDS:
        # the process-per-case doors get the three kinds the others cannot tell apart from them
        if command[0] not in SUBPROCESS_COMMANDS or url == "" or ":abc/" in url or ":1/" in url:
            CASES.append((command, {"DATABASE_URL": url}))
for url in [
    f"postgresql://ops:{SECRET}@db.example:abc/dagster",
    f"postgresql://ops:{SECRET}@127.0.0.1:1/dagster",
    "",
    APP_DB,
]:
    for command in (["run-job", "de_enrollment_job"], ["dev", "check"]):
        CASES.append((command, {"DAGSTER_PG_URL": url}))
for target in ("bogus", "9999", ""):
    CASES.append((["db", "upgrade", "--to", target], {}))
    CASES.append((["db", "downgrade", "--to", target], {}))
CASES.append((["run-job", "no_such_job"], {}))


def _case_id(case: tuple[list[str], dict[str, str]]) -> str:
    args, env = case
    text_ = " ".join(args) + "".join(f" {k}={v}" for k, v in env.items())
    return text_[:80]


@pytest.fixture(scope="module")
def databases(admin_url: str, template_name: str) -> Iterator[dict[str, str]]:
    """An app database with demo data and an empty instance database, for the whole table."""
    tag = uuid.uuid4().hex[:12]
    app = create_database(admin_url, f"co_fuzz_{tag}", template_name)
    instance = create_database(admin_url, f"co_fuzz_dagster_{tag}")
    seed = subprocess.run(
        [sys.executable, "-m", "campaign_ops.cli", "demo", "seed", "--clients", "3", "--leads", "300", "--seed", "7"],
        env={**os.environ, "DATABASE_URL": app},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seed.returncode == 0, seed.stderr
    yield {"DATABASE_URL": app, "DAGSTER_PG_URL": instance}
    drop_database(admin_url, f"co_fuzz_{tag}")
    drop_database(admin_url, f"co_fuzz_dagster_{tag}")


def snapshot(url: str) -> dict[str, tuple[int, str | None]]:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        result = {
            table: tuple(
                conn.execute(
                    text(f"SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t")
                ).one()
            )
            for table in SNAPSHOT_TABLES
        }
    engine.dispose()
    return result


def test_the_table_exercises_work_that_would_show(databases: dict[str, str]) -> None:
    """The snapshot can see a change: there are leads waiting that a wrongly accepted command would de-enroll."""
    engine = make_engine(databases["DATABASE_URL"], pooled=False)
    with engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM leads l JOIN campaigns c ON c.id = l.campaign_link_id"
                " WHERE l.is_active AND l.completed_at IS NULL"
                "   AND (l.current_message_position >= jsonb_array_length(c.messages) OR l.opted_out)"
            )
        ).scalar_one()
    engine.dispose()
    assert waiting > 0
    assert len(CASES) > 150


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input_gives_one_line_and_changes_nothing(
    case: tuple[list[str], dict[str, str]], databases: dict[str, str], tmp_path: Path
) -> None:
    args, overrides = case
    env = {**os.environ, **databases, "DAGSTER_HOME": str(tmp_path)}
    for name in ("DE_ENROLLMENT_MAX_RUNTIME", "DE_ENROLLMENT_CHUNK_SIZE", "DE_ENROLLMENT_BATCH_SIZE"):
        env.pop(name, None)
    env.update({k: databases["DATABASE_URL"] if v == APP_DB else v for k, v in overrides.items()})
    before = snapshot(databases["DATABASE_URL"])

    if args[0] in SUBPROCESS_COMMANDS:
        proc = subprocess.run(
            [sys.executable, "-m", "campaign_ops.cli", *args], env=env, capture_output=True, text=True, timeout=120
        )
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        result = CliRunner().invoke(main, args, env={k: env.get(k) for k in ENV_NAMES})
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        code, stdout, stderr = result.exit_code, result.stdout, result.stderr

    assert code != 0, stdout
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr + stdout
    assert SECRET not in stderr + stdout
    assert snapshot(databases["DATABASE_URL"]) == before
