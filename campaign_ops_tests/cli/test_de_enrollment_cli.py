import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Connection, text

from campaign_ops_tests.de_enrollment.conftest import make_client
from campaign_ops_tests.sop_queries import SOP_STUCK_LEADS


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "campaign_ops.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_de_enroll_all_prints_one_line_per_client(conn: Connection, db_env: str) -> None:
    a, b = make_client(conn), make_client(conn, due=1)
    conn.commit()
    proc = cli("de-enroll", "--all")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 3
    assert any(
        line.startswith("✅") and a.client_id in line and "6 de-enrolled of 9 evaluated" in line for line in lines
    )
    assert any(b.client_id in line and "3 de-enrolled of 6 evaluated" in line for line in lines)
    assert lines[-1].startswith("2 client(s), 9 leads de-enrolled")


def test_de_enroll_refuses_bad_input_before_any_work(conn: Connection, db_env: str) -> None:
    inactive = make_client(conn, active=False)
    conn.commit()
    for args, message in (
        (["--client-id", "xyz"], "error: client id 'xyz' is not a uuid"),
        (["--client-id", inactive.client_id], f"error: inactive client id(s): {inactive.client_id}"),
        ([], "error: give --client-id (one or more) or --all"),
        (["--all", "--batch-size", "0"], "error: batch_size must be a positive integer, got 0"),
    ):
        proc = cli("de-enroll", *args)
        assert proc.returncode == 1 and proc.stderr.strip() == message, (args, proc.stderr)
    assert conn.execute(text("SELECT count(*) FROM de_enrollment_runs")).scalar() == 0


def test_migrate_stuck_leads_reports_before_and_after(conn: Connection, db_env: str) -> None:
    a = make_client(conn, due=7)
    conn.commit()
    assert conn.exec_driver_sql(SOP_STUCK_LEADS).scalar() == 7
    proc = cli("migrate-stuck-leads")
    assert proc.returncode == 0, proc.stderr
    assert "total: 7 stuck before, 9 de-enrolled, 0 stuck after" in proc.stdout
    assert a.client_id[:8] in proc.stdout
    assert conn.exec_driver_sql(SOP_STUCK_LEADS).scalar() == 0


def test_run_job_runs_the_sweep_as_a_real_dagster_run_on_postgres_storage(
    conn: Connection,
    db_env: str,
    empty_db_url: str,
    tmp_path: Path,
    project_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clients = [make_client(conn) for _ in range(2)]
    conn.commit()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(project_root / "dagster.yaml")
    env = {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": empty_db_url}
    proc = cli("run-job", "de_enrollment_job", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "de_enrollment_job over 2 client partitions: SUCCESS" in proc.stdout
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.get() as instance:
        assert instance.get_materialized_partitions(dg.AssetKey("leads")) == {c.client_id for c in clients}
        assert len(instance.get_run_records()) == 1


def test_readme_dg_launch_runs_one_client_partition(
    conn: Connection,
    db_env: str,
    empty_db_url: str,
    tmp_path: Path,
    project_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's one-client command, `dg launch --job de_enrollment_job --partition <uuid>`, as written."""
    target, other = make_client(conn), make_client(conn)
    conn.commit()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(project_root / "dagster.yaml")
    for key, value in {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": empty_db_url}.items():
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("clients", [target.client_id, other.client_id])
    dg_cli = Path(sys.executable).parent / "dg"
    proc = subprocess.run(
        [str(dg_cli), "launch", "--job", "de_enrollment_job", "--partition", target.client_id],
        cwd=project_root,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with dg.DagsterInstance.get() as instance:
        assert instance.get_materialized_partitions(dg.AssetKey("leads")) == {target.client_id}
    remaining = conn.execute(
        text("SELECT client_id::text, count(*) FROM leads WHERE is_active AND opted_out GROUP BY 1")
    ).all()
    assert [r[0] for r in remaining] == [other.client_id]
