"""The pause as a fact of the application database: every writer refused while it is in force (the CLI's writing
commands in one line, the SOP's functions in psql), a sweep in flight stopped at its next chunk, and nothing
committed after `pause` returns."""

import os
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import Connection, Engine, text

from campaign_ops.db.engine import make_engine
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.runs import SweepResult
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.errors import ProcessingPaused
from campaign_ops.pause.core import current_pause, record_pause, record_resume, wait_for_writers
from campaign_ops.reconciliation.core import ReconciliationSettings, iter_reconcile_clients
from campaign_ops_tests.de_enrollment.conftest import make_client
from campaign_ops_tests.factories import add_campaign, add_client

REFUSAL = "processing is paused (paused by oncall at "
RESUME = "Resume with `campaign-ops resume`, or in the Dagster UI launch resume_processing_job"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "campaign_ops.cli", *args], env=dict(os.environ), capture_output=True, text=True
    )


def _counts(conn: Connection) -> tuple[int, ...]:
    row = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM leads WHERE is_active), (SELECT count(*) FROM de_enrollment_lead_log),"
            " (SELECT count(*) FROM de_enrollment_runs), (SELECT count(*) FROM stats_reconciliation_log),"
            " (SELECT count(*) FROM de_enrollment_lead_log_archive), (SELECT count(*) FROM de_enrollment_runs_archive)"
        )
    ).one()
    conn.commit()
    return tuple(row)


def test_while_paused_every_writing_command_refuses_in_one_line_and_changes_nothing(
    conn: Connection, db_env: str
) -> None:
    client = make_client(conn, due=3)
    conn.execute(text("UPDATE campaigns SET active_leads_count = 999"))  # drift reconcile would correct
    conn.execute(text("UPDATE de_enrollment_runs SET run_at = now() - interval '200 days'"))
    conn.commit()
    assert cli("backup").returncode == 0
    day = conn.execute(text("SELECT to_char(now(), 'YYYYMMDD')")).scalar_one()
    conn.commit()
    record_pause(conn, by="oncall", reason="duplicates found")
    before = _counts(conn)
    lead = conn.execute(text("SELECT id::text FROM leads LIMIT 1")).scalar_one()
    conn.commit()
    for args in (
        ["de-enroll", "--all"],
        ["de-enroll", "--client-id", client.client_id, "--batched"],
        ["migrate-stuck-leads"],
        ["reconcile", "--all"],
        ["archive"],
        ["restore", "--from", day],
        ["resolve-skipped", "--lead-id", lead, "--as", "de-enrolled", "--reason", "x"],
    ):
        proc = cli(*args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert proc.stderr.startswith(f"error: {REFUSAL}") and ": duplicates found); nothing was changed" in proc.stderr
        assert RESUME in proc.stderr, (args, proc.stderr)
    assert _counts(conn) == before
    # read-only work goes on while paused
    assert cli("reconcile", "--all", "--dry-run").returncode == 0
    record_resume(conn, by="oncall")
    assert cli("de-enroll", "--all").returncode == 0
    assert _counts(conn)[0] == before[0] - 5


def test_the_sops_functions_called_by_hand_raise_one_clear_error(conn: Connection) -> None:
    client = make_client(conn, due=3)
    run_id = conn.execute(
        text("INSERT INTO de_enrollment_runs (client_id, status) VALUES (:c, 'running') RETURNING id"),
        {"c": client.client_id},
    ).scalar_one()
    conn.commit()
    record_pause(conn, by="oncall", reason="")
    leads = [str(i) for i in conn.execute(text("SELECT id FROM leads")).scalars()]
    conn.commit()
    for statement, params in (
        ("SELECT de_enroll_client_leads(CAST(:r AS uuid), CAST(:c AS uuid))", {"c": client.client_id, "r": run_id}),
        (
            "SELECT process_de_enrollment_batch(CAST(:r AS uuid), CAST(:ids AS uuid[]))",
            {"r": run_id, "ids": leads},
        ),
        (
            "INSERT INTO de_enrollment_runs (client_id, status) VALUES (CAST(:c AS uuid), 'running')",
            {"c": client.client_id},
        ),
    ):
        try:
            conn.execute(text(statement), params)
        except Exception as exc:
            conn.rollback()
            orig = getattr(exc, "orig", None)
            assert getattr(orig, "pgcode", None) == "PAUSE"
            message = str(orig).splitlines()[0]  # then PostgreSQL's CONTEXT lines, as psql prints them
            assert message.startswith(REFUSAL) and message.endswith(RESUME), message
        else:
            raise AssertionError(f"not refused while paused: {statement}")
    assert conn.execute(text("SELECT count(*) FROM leads WHERE is_active")).scalar() == 7 + 1  # nothing changed
    conn.commit()
    # the open run row may still be closed: an interrupted pass records itself while paused
    conn.execute(text("UPDATE de_enrollment_runs SET status = 'partial' WHERE id = :r"), {"r": run_id})
    conn.commit()


def test_a_pause_is_one_row_with_its_history(conn: Connection) -> None:
    first, new = record_pause(conn, by="oncall", reason="duplicates")
    again, new_again = record_pause(conn, by="someone else", reason="")
    assert new and not new_again and again == first  # the pause in force is kept, not replaced
    assert record_resume(conn, by="lead") == first
    assert current_pause(conn) is None and record_resume(conn, by="lead") is None
    record_pause(conn, by="oncall", reason="again")
    history = conn.execute(
        text("SELECT paused_by, reason, resumed_by IS NOT NULL FROM processing_pauses ORDER BY id")
    ).all()
    assert [tuple(r) for r in history] == [("oncall", "duplicates", True), ("oncall", "again", False)]


def _many_due_leads(conn: Connection, n: int) -> str:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=3)
    conn.execute(
        text(
            "INSERT INTO leads (client_id, campaign_link_id, first_name, last_name, current_message_position,"
            " is_active, enrolled_at) SELECT :c, :k, 'Test', 'Lead', 3, true, now() - interval '10 days'"
            " FROM generate_series(1, :n)"
        ),
        {"c": client, "k": campaign, "n": n},
    )
    conn.commit()
    return client


def test_a_pause_during_a_sweep_stops_it_at_its_next_chunk_and_nothing_commits_after_pause_returns(
    conn: Connection, engine: Engine
) -> None:
    client = _many_due_leads(conn, 30_000)
    sweep: list[SweepResult] = []
    settings = DeEnrollmentSettings(chunk_size=500, max_runtime_ms=600_000)
    worker = threading.Thread(target=lambda: sweep.append(de_enroll_clients(engine, [client], settings)))
    worker.start()
    try:
        while not conn.execute(text("SELECT count(*) FROM de_enrollment_lead_log")).scalar():
            conn.commit()
            time.sleep(0.01)
        conn.commit()
        record_pause(conn, by="oncall", reason="sweep test")
        waited = wait_for_writers(conn, timeout_s=30)
        at_return = _counts(conn)
    finally:
        worker.join(timeout=120)
    assert waited.still_writing == []
    assert _counts(conn)[:2] == at_return[:2]  # no lead and no lead-log row committed after pause returned
    (result,) = sweep[0].clients
    assert result.status == "partial" and "paused: processing is paused (paused by oncall" in (
        result.error_details or ""
    )
    assert 0 < result.leads_de_enrolled < 30_000 and at_return[1] == result.leads_de_enrolled
    row = conn.execute(text("SELECT status, error_details, leads_de_enrolled FROM de_enrollment_runs")).one()
    assert row.status == "partial" and "paused" in row.error_details and row.leads_de_enrolled == at_return[1]
    assert sweep[0].paused is not None and "sweep stopped" in sweep[0].paused


def test_a_reconciliation_already_past_its_door_stops_at_the_first_client_the_database_refuses(
    conn: Connection, engine: Engine
) -> None:
    clients = [make_client(conn) for _ in range(2)]
    conn.execute(text("UPDATE campaigns SET active_leads_count = 999"))
    conn.commit()
    record_pause(conn, by="oncall", reason="")  # committed after the sweep's door check
    outcomes = iter_reconcile_clients(
        engine, {c.client_id: "" for c in clients}, ReconciliationSettings(), dagster_run_id=None
    )
    with pytest.raises(ProcessingPaused, match=f"stopped at client {clients[0].client_id}: processing is paused"):
        list(outcomes)
    assert conn.execute(text("SELECT count(*) FROM campaigns WHERE active_leads_count = 999")).scalar() == 2


def test_pause_waits_a_bounded_time_then_names_the_sessions_still_writing(
    conn: Connection, engine: Engine, db_url: str
) -> None:
    client = add_client(conn, name="Busy Client")
    conn.commit()
    writer = make_engine(db_url, pooled=False).connect()
    try:
        writer.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": client})
        pid = writer.execute(text("SELECT pg_backend_pid()")).scalar()
        writer.commit()
        record_pause(conn, by="oncall", reason="")
        started = time.monotonic()
        waited = wait_for_writers(conn, timeout_s=0.5)
        assert time.monotonic() - started < 5
        (still,) = waited.still_writing
        assert still.pid == pid and "Busy Client" in still.line() and f"session {pid}" in still.line()
    finally:
        writer.close()
    assert wait_for_writers(conn, timeout_s=5).still_writing == []
