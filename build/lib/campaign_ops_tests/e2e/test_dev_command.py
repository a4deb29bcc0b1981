"""`campaign-ops dev` without a database (one clear line, a non-zero exit, nothing started) and its run retention."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy import text

from campaign_ops.db.engine import make_engine
from campaign_ops.db.urls import normalise_url
from campaign_ops_tests.e2e.conftest import free_port


@pytest.mark.parametrize("unreachable", ["DATABASE_URL", "DAGSTER_PG_URL"])
def test_dev_without_a_database_fails_with_one_line(unreachable: str, db_url: str, tmp_path: Path) -> None:
    web_port, code_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": normalise_url(db_url),
        "DAGSTER_PG_URL": normalise_url(db_url),
        "DAGSTER_HOME": str(tmp_path),
    }
    env[unreachable] = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/nowhere"
    command = [str(Path(sys.executable).parent / "campaign-ops"), "dev", "--port", str(web_port)]
    proc = subprocess.run(
        [*command, "--code-server-port", str(code_port)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {unreachable}: cannot connect to PostgreSQL at "), lines[0]
    assert "s3cret" not in proc.stdout + proc.stderr
    assert "Dagster UI" not in proc.stdout
    for port in (web_port, code_port):  # nothing was started
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_prune_runs_deletes_only_finished_runs_older_than_the_cutoff(
    db_url: str, empty_db_url: str, tmp_path: Path
) -> None:
    """The run retention open-source Dagster lacks: old finished runs and their events go, recent ones stay; so do
    the check sensors' evaluations, which no run owns."""
    instance_url = normalise_url(empty_db_url)
    (tmp_path / "dagster.yaml").write_text(
        yaml.safe_dump({"storage": {"postgres": {"postgres_url": instance_url}}, "telemetry": {"enabled": False}})
    )

    @dg.op
    def noop() -> None:
        return None

    @dg.job
    def tiny() -> None:
        noop()

    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        old, recent = (tiny.execute_in_process(instance=instance).run_id for _ in range(2))
        for passed in (False, True):  # what a check sensor records, as the daemon does: no run owns them
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(asset_key=dg.AssetKey("leads"), check_name="stuck_leads", passed=passed)
            )
    engine = make_engine(instance_url, pooled=False)
    with engine.begin() as conn:  # age one run and the first evaluation by 100 days in Dagster's own storage
        conn.execute(
            text("UPDATE runs SET create_timestamp = create_timestamp - interval '100 days' WHERE run_id = :r"),
            {"r": old},
        )
        first_evaluation = "SELECT min(id) FROM event_logs WHERE run_id = '' AND dagster_event_type = :kind"
        kind = {"kind": "ASSET_CHECK_EVALUATION"}
        conn.execute(
            text(f"UPDATE event_logs SET timestamp = timestamp - interval '100 days' WHERE id = ({first_evaluation})"),
            kind,
        )
        conn.execute(
            text(
                "UPDATE asset_check_executions SET evaluation_event_timestamp = evaluation_event_timestamp"
                f" - interval '100 days' WHERE evaluation_event_storage_id = ({first_evaluation})"
            ),
            kind,
        )
    env = {**os.environ, "DATABASE_URL": normalise_url(db_url), "DAGSTER_PG_URL": instance_url}
    env["DAGSTER_HOME"] = str(tmp_path)
    command = [str(Path(sys.executable).parent / "campaign-ops"), "dev", "prune-runs", "--older-than-days", "90"]
    dry = subprocess.run([*command, "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "would delete 1 finished run(s) and 1 check evaluation(s) recorded without a run" in dry.stdout
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "deleted 1 finished run(s) and 1 check evaluation(s) recorded without a run" in proc.stdout
    with engine.connect() as conn:
        runs = set(conn.execute(text("SELECT run_id FROM runs")).scalars())
        old_events = conn.execute(text("SELECT count(*) FROM event_logs WHERE run_id = :r"), {"r": old}).scalar()
        runless_left = conn.execute(
            text("SELECT execution_status FROM asset_check_executions WHERE run_id = ''")
        ).scalars()
        runless_events = conn.execute(
            text("SELECT count(*) FROM event_logs WHERE run_id = '' AND dagster_event_type = :kind"), kind
        ).scalar()
        runless = (list(runless_left), runless_events)
    engine.dispose()
    assert runs == {recent}
    assert old_events == 0
    assert runless == (["SUCCEEDED"], 1)  # the recent (passing) evaluation stays, with its row
