"""The service as `make dev` runs it — `campaign-ops dev`: code server, daemon and webserver — on free local ports,
against this test's own app database (migrated copy) and a fresh, empty Dagster instance database."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import yaml

from campaign_ops.db.engine import make_engine
from campaign_ops.db.urls import normalise_url
from campaign_ops.demo.seed import SeedSummary, seed_demo_data
from campaign_ops.service.dagster_api import DagsterApi, wait_for
from campaign_ops.service.environment import INSTANCE_YAML

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "artifacts" / "e2e"
# the test instance differs from the production dagster.yaml only here (why: each line)
TEST_INSTANCE_OVERRIDES = {
    # the daemon checks runs every 2 s, so a run past its (shortened) maximum runtime ends within seconds
    "run_monitoring": {"poll_interval_seconds": 2},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_test_instance_yaml(dagster_home: Path) -> Path:
    """The production dagster.yaml with TEST_INSTANCE_OVERRIDES merged in, as DAGSTER_HOME/dagster.yaml."""
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    for section, values in TEST_INSTANCE_OVERRIDES.items():
        config[section] = {**config.get(section, {}), **values}
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class RunningService:
    """`campaign-ops dev` running in a subprocess, and what the tests need to reach it."""

    process: subprocess.Popen[bytes]
    api: DagsterApi
    base_url: str
    app_url: str
    instance_url: str
    log_dir: Path
    seen_pids: set[int] = field(default_factory=set)
    dagster_home: Path | None = None

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def remember_pids(self) -> None:
        """Record every process of the service seen so far (to prove none outlives a stop)."""
        self.seen_pids.update(p.pid for p in self.descendants())

    def code_server(self) -> psutil.Process:
        for proc in self.descendants():
            try:
                if "api grpc" in " ".join(proc.cmdline()) and proc.status() != psutil.STATUS_ZOMBIE:
                    return proc
            except psutil.Error:  # gone or a zombie between listing and looking
                continue
        raise AssertionError("no code server process under campaign-ops dev")

    def output(self) -> str:
        return (self.log_dir / "dev.out").read_text(errors="replace")


def wait_past_quarter_hour(margin_seconds: float = 40) -> None:
    """The de-enrollment schedule ticks every quarter hour; the test turns it off once the webserver answers. If a
    tick is due before that, start after it instead (the daemon does not catch up ticks from before it started)."""
    now = time.time()
    to_next = 900 - now % 900
    if to_next < margin_seconds:
        time.sleep(to_next + 2)


def stop_before_start(env: dict[str, str], names: Collection[str]) -> None:
    """Turn automations off in the instance before the daemon starts (the state the UI's toggle stores), so
    none of them ticks before the test is ready."""
    import dagster as dg

    from campaign_ops.pause.defs import switch_automations
    from campaign_ops.service.instance_storage import close_pooled_connections

    keys = ("DATABASE_URL", "DAGSTER_PG_URL", "DAGSTER_HOME")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: env[k] for k in keys})
    try:
        with dg.DagsterInstance.get() as instance:
            switched = switch_automations(instance, running=False, names=names)
        # this test process is not the service: the sessions its instance pooled would outlive the service's own
        close_pooled_connections()
        assert {s.name for s in switched} == set(names), switched
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def start_dev(
    app_url: str, instance_url: str, tmp_path: Path, name: str, stopped: Collection[str] = ()
) -> RunningService:
    web_port, code_port = free_port(), free_port()
    log_dir = ARTIFACTS / "logs" / name
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*"):
        old.unlink()
    dagster_home = tmp_path / "dagster_home"
    write_test_instance_yaml(dagster_home)
    env = {
        **os.environ,
        "DATABASE_URL": normalise_url(app_url),
        "DAGSTER_PG_URL": normalise_url(instance_url),
        "DAGSTER_HOME": str(dagster_home),
    }
    if stopped:
        stop_before_start(env, stopped)
    command = [
        str(Path(sys.executable).parent / "campaign-ops"),
        *("dev", "--port", str(web_port), "--code-server-port", str(code_port), "--log-dir", str(log_dir)),
    ]
    out = (log_dir / "dev.out").open("wb")
    process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{web_port}"
    service = RunningService(
        process, DagsterApi(base_url), base_url, app_url, instance_url, log_dir, dagster_home=dagster_home
    )

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"campaign-ops dev exited with {process.returncode}:\n{service.output()[-3000:]}")
        return "Ctrl-C stops all three" in service.output()

    wait_for("campaign-ops dev to report the three services up", ready, timeout_seconds=240)
    service.remember_pids()
    return service


def kill_everything(service: RunningService) -> None:
    """Last-resort teardown: whatever the test did, nothing it started survives."""
    service.remember_pids()
    if service.process.poll() is None:
        service.process.send_signal(signal.SIGINT)
        try:
            service.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.process.kill()
    for pid in service.seen_pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()
    time.sleep(0.5)


@pytest.fixture
def seeded_clients(db_url: str) -> SeedSummary:
    """Demo data before the service starts, so the daemon's first sensor tick finds the clients: 2 active clients
    (one inactive) with 40,000 leads, 9,218 of them awaiting de-enrollment."""
    engine = make_engine(db_url, pooled=False)
    with engine.begin() as conn:
        summary = seed_demo_data(conn, clients=3, campaigns_per_client=2, leads=40_000, seed=3)
    engine.dispose()
    return summary


@pytest.fixture
def dagster_service(
    db_url: str, empty_db_url: str, seeded_clients: SeedSummary, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[RunningService]:
    wait_past_quarter_hour()
    # the due sensor would de-enroll every client within seconds: the steps below de-enroll them one way at a time
    service = start_dev(db_url, empty_db_url, tmp_path, request.node.name, stopped=["de_enrollment_due_sensor"])
    try:
        yield service
    finally:
        kill_everything(service)
