"""Every shell block of README.md and deploy/README.md says whether it runs on this machine, and those that do run
as typed in a fresh clone (git clone of this repository's HEAD) with nothing exported: `<!-- readme-test: run -->`
blocks line by line in one bash, `<!-- readme-test: serve URL -->` ones started, awaited until URL answers, then
stopped with Ctrl-C (SIGINT), `<!-- readme-test: not here (why) -->` ones only listed. `<client-uuid>` stands for
an active client of the clone's demo data, as a reader would paste one.
"""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READMES = ("README.md", "deploy/README.md")
_BLOCK = re.compile(r"(?:<!-- readme-test: (?P<marker>[^>]*?) -->\n)?```bash\n(?P<body>.*?)```", re.S)
UNSET = ("DATABASE_URL", "DAGSTER_PG_URL", "DAGSTER_HOME", "TEST_DATABASE_URL", "CAMPAIGN_OPS_HOME", "VIRTUAL_ENV")


@dataclass(frozen=True)
class Block:
    readme: str
    marker: str
    body: str


def blocks(root: Path) -> list[Block]:
    found = []
    for name in READMES:
        for m in _BLOCK.finditer((root / name).read_text()):
            found.append(Block(name, (m.group("marker") or "").strip(), m.group("body")))
    return found


def commands(block: Block) -> list[str]:
    skipped = re.findall(r'except "([^"]+)"', block.marker)
    lines = [line.split("  #")[0].strip() for line in block.body.splitlines()]
    return [line for line in lines if line and not line.startswith("#") and line not in skipped]


def test_every_shell_block_says_where_it_runs() -> None:
    found = blocks(PROJECT_ROOT)
    assert len(found) >= 4
    unmarked = [f"{b.readme}: {b.body.splitlines()[0]}" for b in found if not b.marker]
    assert unmarked == [], "shell blocks without a readme-test marker"
    assert all(re.match(r"(run|serve https?://\S+|not here \(.+\))", b.marker) for b in found)


def _port_free(url: str) -> bool:
    host, port = re.match(r"https?://([^:/]+):(\d+)", url).groups()  # type: ignore[union-attr]
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) != 0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status < 500
    except OSError:
        return False


def test_readme_commands_run_as_typed_in_a_fresh_clone() -> None:
    # not pytest's tmp_path: another pytest session on the machine rotates those away, with the clone's running
    # embedded server's binaries in them
    home = Path(tempfile.mkdtemp(prefix="campaign_ops_readme_"))
    clone = home / "campaign-ops"
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if ".venv" not in p)
    try:
        for block in blocks(clone):
            if block.marker.startswith("not here"):
                continue
            script = "\n".join(commands(block))
            if "<client-uuid>" in script or "<partition key>" in script:
                client = subprocess.run(
                    [".venv/bin/python", "-c", CLIENT_QUERY], cwd=clone, env=env, capture_output=True, text=True
                )
                assert client.returncode == 0, client.stderr
                client_id, key = client.stdout.strip().splitlines()
                script = script.replace("<client-uuid>", client_id).replace("<partition key>", shlex.quote(key))
            if block.marker.startswith("run"):
                done = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", script],
                    cwd=clone,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=1200,
                )
                assert done.returncode == 0, f"{block.readme}:\n{script}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            else:
                url = block.marker.split()[1]
                if not _port_free(url):
                    pytest.skip(f"{url} is taken on this machine by another process; the block needs it")
                proc = subprocess.Popen(
                    ["bash", "-c", script],
                    cwd=clone,
                    env=env,
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    deadline = time.monotonic() + 300
                    while not _answers(url):
                        assert proc.poll() is None, f"{script!r} exited with {proc.returncode} before serving"
                        assert time.monotonic() < deadline, f"{url} did not answer within 300 s"
                        time.sleep(2)
                finally:
                    os.killpg(proc.pid, signal.SIGINT)
                    try:
                        proc.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
    finally:
        subprocess.run(["make", "-s", "stop-db"], cwd=clone, env=env, capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


CLIENT_QUERY = """
from sqlalchemy import text
from campaign_ops.clients.partition_keys import active_clients, partition_key
from campaign_ops.db.engine import connect, make_engine, resolve_database_url
with connect(make_engine(resolve_database_url(), pooled=False)) as conn:
    client_id, name = next(iter(active_clients(conn).items()))
    print(client_id)
    print(partition_key(client_id, name))
"""
