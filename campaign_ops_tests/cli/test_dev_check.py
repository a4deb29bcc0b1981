"""`campaign-ops dev check` and `dev prune-runs` check what the service's processes need in each database, not only
a connection: with a real PostgreSQL role lacking a right, one clear line and a non-zero exit."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import make_url

from campaign_ops.db.engine import make_engine
from campaign_ops.db.urls import normalise_url
from campaign_ops.service.environment import INSTANCE_YAML

PASSWORD = "limited-s3cret"


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "campaign_ops.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def execute(url: str, *statements: str) -> None:
    engine = make_engine(url, pooled=False).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture
def instance_db_url(empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An instance database holding Dagster's tables (Dagster creates them when the instance is first loaded)."""
    url = normalise_url(empty_db_url)
    monkeypatch.setenv("DAGSTER_PG_URL", url)
    home = tmp_path / "instance-home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML.read_text())
    with dg.DagsterInstance.from_config(str(home)):
        pass
    return url


@pytest.fixture
def limited_role(admin_url: str, db_url: str, instance_db_url: str) -> Iterator[str]:
    """A login role with the rights the service needs on both databases' tables (tests take some away)."""
    role = f"co_limited_{uuid.uuid4().hex[:12]}"
    execute(admin_url, f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    for url in (db_url, instance_db_url):
        execute(
            url,
            f'GRANT CONNECT ON DATABASE "{make_url(url).database}" TO {role}',
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        )
    yield role
    for url in (db_url, instance_db_url):
        execute(url, f"DROP OWNED BY {role}")
    execute(admin_url, f"DROP ROLE {role}")


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=PASSWORD).render_as_string(hide_password=False)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert PASSWORD not in proc.stderr + proc.stdout
    return lines[0]


def test_dev_check_names_the_right_a_role_lacks(
    db_url: str, instance_db_url: str, limited_role: str, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": as_role(db_url, limited_role),
        "DAGSTER_PG_URL": as_role(instance_db_url, limited_role),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    # the instance's role may read and write but not delete: run retention (and Dagster's own cleanups) would fail
    execute(instance_db_url, f"REVOKE DELETE ON ALL TABLES IN SCHEMA public FROM {limited_role}")
    line = one_error_line(run_cli("dev", "check", env=env))
    assert line.startswith(f"error: DAGSTER_PG_URL (postgresql+psycopg2://{limited_role}:***@")
    assert f"role {limited_role} lacks DELETE on " in line and "run retention" in line
    # prune-runs is refused the same way before it deletes anything
    assert one_error_line(run_cli("dev", "prune-runs", env=env)) == line

    execute(instance_db_url, f"GRANT DELETE ON ALL TABLES IN SCHEMA public TO {limited_role}")
    execute(db_url, f"REVOKE UPDATE ON leads FROM {limited_role}")
    line = one_error_line(run_cli("dev", "check", env=env))
    assert line.startswith("error: DATABASE_URL (") and "lacks UPDATE on leads (" in line

    execute(db_url, f"GRANT UPDATE ON leads TO {limited_role}")
    proc = run_cli("dev", "check", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].endswith(": ok")
