"""`campaign-ops dev` without a database: one clear line, a non-zero exit, and nothing started."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

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
