"""The deployment as deploy/ ships it, on containers: the image, the network, PostgreSQL, migrations and seed data
from one-off containers, then the code server, the webserver and the daemon (`make test-deploy`)."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from bench import containers as c
from bench.containers import (
    CODE_SERVER_IP,
    DAEMON_COMMAND,
    DAEMON_IP,
    DB_IP,
    WEBSERVER_COMMAND,
    WEBSERVER_IP,
    WEBSERVER_PORT,
    location_loaded,
    start_databases,
)
from campaign_ops.db.engine import make_engine
from campaign_ops.service.dagster_api import DagsterApi, wait_for

# automations that would de-enroll the seeded clients on their own before the test launches its runs
STOPPED_BEFORE_THE_DAEMON = {"sensors": ["de_enrollment_due_sensor"], "schedules": ["de_enrollment_sweep_schedule"]}


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
