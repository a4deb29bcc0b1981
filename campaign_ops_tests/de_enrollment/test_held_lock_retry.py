"""A rerun right after a crash: the dead worker's statement still holds some clients' locks for a few seconds. The
sweep retries those clients after the others (bounded wait) and finishes them; a client still locked after that
is reported with the session holding it, and the CLI exits non-zero because work was left undone."""

import os
import subprocess
import sys
import threading

from sqlalchemy import Connection, Engine, text

from campaign_ops.db.engine import make_engine
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops_tests.de_enrollment.conftest import make_client


def _hold(url: str, client_id: str) -> Connection:
    """Another session holding the client's lock (unpooled: closing it ends the session and its lock)."""
    holder = make_engine(url, pooled=False).connect()
    holder.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": client_id})
    holder.commit()
    return holder


def test_a_client_whose_lock_is_released_soon_is_finished_in_the_same_run(
    conn: Connection, engine: Engine, db_url: str
) -> None:
    busy, free = make_client(conn), make_client(conn)
    conn.commit()
    holder = _hold(db_url, busy.client_id)
    release = threading.Timer(1.0, holder.close)  # the crashed worker's statement ends a moment later
    release.start()
    try:
        sweep = de_enroll_clients(engine, [busy.client_id, free.client_id], DeEnrollmentSettings(), lock_retry_s=30)
    finally:
        release.join()
    by_client = {r.client_id: r for r in sweep.clients}
    assert (by_client[busy.client_id].status, by_client[busy.client_id].leads_de_enrolled) == ("success", 6)
    assert (by_client[free.client_id].status, by_client[free.client_id].leads_de_enrolled) == ("success", 6)
    assert sweep.locked_out == []
    statuses = conn.execute(text("SELECT status FROM de_enrollment_runs")).scalars().all()
    assert sorted(statuses) == ["success", "success"]  # no `skipped` row: the client was not given up on


def test_a_client_still_locked_is_reported_with_its_holder_and_the_cli_exits_non_zero(
    conn: Connection, engine: Engine, db_url: str, db_env: str
) -> None:
    busy, free = make_client(conn), make_client(conn)
    conn.commit()
    holder = _hold(db_url, busy.client_id)
    pid = holder.execute(text("SELECT pg_backend_pid()")).scalar()
    holder.commit()
    try:
        sweep = de_enroll_clients(engine, [busy.client_id, free.client_id], DeEnrollmentSettings(), lock_retry_s=0.3)
        (locked,) = sweep.locked_out
        assert locked.client_id == busy.client_id and locked.status == "skipped"
        assert f"its lock is held by session {pid} (" in (locked.error_details or "") and " since " in (
            locked.error_details or ""
        )
        proc = subprocess.run(
            [sys.executable, "-m", "campaign_ops.cli", "de-enroll", "--all"],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.close()
    assert proc.returncode == 1, proc.stderr
    assert f"session {pid}" in proc.stdout
    assert proc.stderr.startswith("error: 1 client(s) with due leads left undone, their lock held by another session")
