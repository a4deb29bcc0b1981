import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Connection, text

from bench.sop_queries import SOP_STUCK_LEADS
from campaign_ops.clients.partition_keys import client_ids_of
from campaign_ops.service.environment import INSTANCE_YAML
from campaign_ops_tests.de_enrollment.conftest import make_client
from campaign_ops_tests.factories import add_campaign, add_client, add_lead


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
        ([], "error: give --client NAME / --client-id UUID (one or more) or --all"),
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


def test_migrate_stuck_leads_reports_past_a_legacy_campaign_whose_messages_is_not_an_array(
    conn: Connection, db_env: str
) -> None:
    a = make_client(conn, due=2)
    legacy_client = add_client(conn)
    legacy = add_campaign(conn, legacy_client, messages=2, name="Legacy Campaign")
    add_lead(conn, legacy_client, legacy, position=5)
    conn.execute(text("ALTER TABLE campaigns DROP CONSTRAINT campaigns_messages_is_array"))
    conn.execute(text("""UPDATE campaigns SET messages = '{"legacy": true}' WHERE id = :c"""), {"c": legacy})
    conn.commit()
    proc = cli("migrate-stuck-leads")
    assert proc.returncode == 0, proc.stderr
    # the legacy campaign has no sequence length: its lead is not counted stuck, the others' are
    assert "total: 2 stuck before, 4 de-enrolled, 0 stuck after" in proc.stdout, proc.stdout
    assert a.client_id[:8] in proc.stdout


def test_run_job_runs_the_sweep_as_a_real_dagster_run_on_postgres_storage(
    conn: Connection,
    db_env: str,
    empty_db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clients = [make_client(conn) for _ in range(2)]
    conn.commit()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(INSTANCE_YAML)
    env = {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": empty_db_url}
    proc = cli("run-job", "de_enrollment_job", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "de_enrollment_job over 2 client partitions: SUCCESS" in proc.stdout
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.get() as instance:
        materialized = instance.get_materialized_partitions(dg.AssetKey("leads"))
        assert set(client_ids_of(materialized)) == {c.client_id for c in clients}
        assert len(instance.get_run_records()) == 1


def test_run_job_takes_a_client_by_name_and_labels_the_run_for_the_jobs_runs_tab(
    conn: Connection,
    db_env: str,
    empty_db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target, other = make_client(conn), make_client(conn)
    conn.execute(text("UPDATE clients SET company_name = 'Demo Client 003' WHERE id = :c"), {"c": target.client_id})
    conn.commit()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(INSTANCE_YAML)
    env = {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": empty_db_url}
    proc = cli("run-job", "de_enrollment_job", "--client", "demo client 003", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"over client Demo Client 003 ({target.client_id}): SUCCESS" in proc.stdout
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.get() as instance:
        assert instance.get_materialized_partitions(dg.AssetKey("leads")) == {f"Demo Client 003--{target.client_id}"}
        # the job's Runs tab in the UI lists the runs of the job labelled with its repository@location
        (record,) = instance.get_run_records(
            dg.RunsFilter(job_name="de_enrollment_job", tags={".dagster/repository": "__repository__@campaign_ops"})
        )
        assert record.dagster_run.tags["campaign_ops/client"] == "Demo Client 003"
        assert record.dagster_run.tags["dagster/partition"] == f"Demo Client 003--{target.client_id}"
    assert other.client_id not in proc.stdout


def test_run_job_scopes_the_sweep_to_the_client_asked_for_and_refuses_a_job_that_cannot_be_scoped(
    conn: Connection, db_env: str, empty_db_url: str, tmp_path: Path
) -> None:
    target, other = make_client(conn), make_client(conn)
    conn.commit()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(INSTANCE_YAML)
    env = {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": empty_db_url}
    proc = cli("run-job", "de_enrollment_sweep_job", "--client-id", target.client_id, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"({target.client_id}): SUCCESS" in proc.stdout
    passes = dict(conn.execute(text("SELECT client_id::text, status FROM de_enrollment_runs")).all())
    assert passes == {target.client_id: "success"}  # the other client was not swept
    assert conn.execute(
        text("SELECT count(*) FROM leads WHERE client_id = :c AND NOT is_active"), {"c": other.client_id}
    ).scalar() == len(other.finished)
    conn.commit()

    refused = cli("run-job", "prune_runs_job", "--client-id", target.client_id, env=env)
    assert refused.returncode != 0
    (line,) = refused.stderr.strip().splitlines()  # one line, no traceback, and no run
    assert line.startswith("error: prune_runs_job works on every client at once: --client-id/--client does not apply")
    assert conn.execute(text("SELECT count(*) FROM de_enrollment_runs")).scalar() == 1


@pytest.mark.parametrize("command", [["de-enroll"], ["reconcile"], ["archive", "--dry-run"]])
def test_client_by_name_ambiguous_or_unknown_is_one_line_and_changes_nothing(
    conn: Connection, db_env: str, command: list[str]
) -> None:
    a, b = make_client(conn), make_client(conn)
    conn.execute(
        text("UPDATE clients SET company_name = 'Twin Co' WHERE id IN (:a, :b)"), {"a": a.client_id, "b": b.client_id}
    )
    conn.commit()
    before = conn.exec_driver_sql(SOP_STUCK_LEADS).scalar()
    proc = cli(*command, "--client", "Twin Co")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "2 clients are named 'Twin Co'" in proc.stderr
    assert a.client_id in proc.stderr and b.client_id in proc.stderr
    proc = cli(*command, "--client", "Nobody Inc")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: no client named 'Nobody Inc' (give the company name or the client uuid)"
    assert conn.exec_driver_sql(SOP_STUCK_LEADS).scalar() == before


def test_de_enroll_takes_a_client_by_name(conn: Connection, db_env: str) -> None:
    a, b = make_client(conn), make_client(conn)
    conn.execute(text("UPDATE clients SET company_name = 'Demo Client 003' WHERE id = :c"), {"c": a.client_id})
    conn.commit()
    proc = cli("de-enroll", "--client", "Demo Client 003")
    assert proc.returncode == 0, proc.stderr
    assert f"Demo Client 003 ({a.client_id}): success" in proc.stdout
    assert b.client_id not in proc.stdout


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
    (home / "dagster.yaml").symlink_to(INSTANCE_YAML)
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
