"""The deployment as deploy/ ships it, on containers: the image, the network, PostgreSQL, migrations and seed data
from one-off containers, then the code server, the webserver and the daemon (`make test-deploy`)."""

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from campaign_ops.db.engine import make_engine
from campaign_ops.service.dagster_api import DagsterApi, wait_for
from campaign_ops_tests.deploy import containers as c

DB_IP, CODE_SERVER_IP, WEBSERVER_IP, DAEMON_IP = (c.address(n) for n in (10, 11, 12, 13))
CODE_SERVER_PORT, WEBSERVER_PORT = 4000, 3000
# the Dockerfile header's commands (the code server's is the image's CMD)
IMAGE_WORKSPACE = "/opt/dagster/dagster_home/workspace.yaml"
WEBSERVER_COMMAND = ["dagster-webserver", "-w", IMAGE_WORKSPACE, "-h", "0.0.0.0", "-p", str(WEBSERVER_PORT)]
DAEMON_COMMAND = ["dagster-daemon", "run", "-w", IMAGE_WORKSPACE]
CODE_SERVER_COMMAND = [
    *("dagster", "api", "grpc", "-m", "campaign_ops.definitions", "--location-name", "campaign_ops"),
    *("-h", "0.0.0.0", "-p", str(CODE_SERVER_PORT)),
]
# automations that would de-enroll the seeded clients on their own before the test launches its runs
STOPPED_BEFORE_THE_DAEMON = {"sensors": ["de_enrollment_due_sensor"], "schedules": ["de_enrollment_sweep_schedule"]}


def listening(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=2):
            return True
    except OSError:
        return False


@dataclass
class Deployment:
    layout: c.Layout
    api: DagsterApi
    app: Engine  # the app database, from the host through the network's bridge
    instance: Engine  # the Dagster instance database
    env: dict[str, str]
    code_server: str
    webserver: str
    daemon: str
    database: str

    def start_code_server(self) -> str:
        return self.layout.start("code-server", ip=CODE_SERVER_IP, env=self.env)


@pytest.fixture(scope="module")
def image_build_seconds() -> float:
    seconds = c.build_image()
    print(f"\nimage {c.IMAGE}: built in {seconds:.1f} s, {c.image_size_bytes() / 1e6:.0f} MB")
    return seconds


def start_databases(layout: c.Layout) -> tuple[str, dict[str, str]]:
    """PostgreSQL in its container with the app and instance databases; (its container, the processes' env)."""
    database = c.start_database(layout, DB_IP)
    wait_for("PostgreSQL in its container", lambda: listening(DB_IP, 5432), timeout_seconds=60, interval=0.5)
    admin = make_engine(c.db_url(DB_IP, "postgres"), pooled=False).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE campaign_ops")
        conn.exec_driver_sql("CREATE DATABASE dagster")
    admin.dispose()
    env = {
        "DATABASE_URL": c.db_url(DB_IP, "campaign_ops"),
        # a psycopg2 URL, as dagster.yaml's comment says
        "DAGSTER_PG_URL": c.db_url(DB_IP, "dagster", "postgresql+psycopg2"),
        "CAMPAIGN_OPS_CODE_SERVER_HOST": CODE_SERVER_IP,
        "CAMPAIGN_OPS_CODE_SERVER_PORT": str(CODE_SERVER_PORT),
    }
    return database, env


@pytest.fixture(scope="module")
def deployment(image_build_seconds: float) -> Iterator[Deployment]:
    with c.layout() as layout:
        database, env = start_databases(layout)
        # migrate and seed as an operator would, from one-off containers of the same image
        print(layout.once(["campaign-ops", "db", "upgrade"], env).strip().splitlines()[-1])
        seed = ["campaign-ops", "demo", "seed", "--clients", "4", "--campaigns-per-client", "2", "--leads", "24000"]
        print(layout.once([*seed, "--seed", "3"], env).strip().splitlines()[-1])

        code_server = layout.start("code-server", ip=CODE_SERVER_IP, env=env)
        webserver = layout.start("webserver", WEBSERVER_COMMAND, ip=WEBSERVER_IP, env=env)
        api = DagsterApi(f"http://{WEBSERVER_IP}:{WEBSERVER_PORT}")
        wait_for("the webserver to load the code location", lambda: location_loaded(api), 240, interval=2)
        for sensor in STOPPED_BEFORE_THE_DAEMON["sensors"]:
            api.stop_sensor(sensor)
        for schedule in STOPPED_BEFORE_THE_DAEMON["schedules"]:
            api.stop_schedule(schedule)
        daemon = layout.start("daemon", DAEMON_COMMAND, ip=DAEMON_IP, env=env)

        app = make_engine(c.db_url(DB_IP, "campaign_ops"), pooled=False)
        instance = make_engine(c.db_url(DB_IP, "dagster"), pooled=False)
        try:
            yield Deployment(layout, api, app, instance, env, code_server, webserver, daemon, database)
        finally:
            app.dispose()
            instance.dispose()


def location_loaded(api: DagsterApi) -> bool:
    try:
        data = api.query(
            "{ workspaceOrError { ... on Workspace { locationEntries { name "
            "locationOrLoadError { __typename } } } } }"
        )
    except (OSError, ValueError):  # not listening yet, or answering before its workspace is loaded
        return False
    entries = data["workspaceOrError"]["locationEntries"]
    loaded = {e["name"] for e in entries if e["locationOrLoadError"]["__typename"] == "RepositoryLocation"}
    return "campaign_ops" in loaded


def wait_listening(ip: str, port: int, timeout_seconds: float = 120) -> None:
    started = time.monotonic()
    wait_for(f"{ip}:{port} to accept connections", lambda: listening(ip, port), timeout_seconds, interval=0.5)
    print(f"{ip}:{port} listening after {time.monotonic() - started:.1f} s")
