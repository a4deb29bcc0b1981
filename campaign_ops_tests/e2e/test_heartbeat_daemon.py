"""The dead man's switch as an external monitor sees it: `campaign-ops dev` (a real daemon) pings ALERT_HEARTBEAT_URL
every 3 minutes while alerting is healthy, and with the daemon stopped the pings stop: no process of the service is
left that could ping, and none comes."""

import signal
import time
from pathlib import Path

import psutil
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from campaign_ops.oncall.defs import HEARTBEAT_INTERVAL_SECONDS
from campaign_ops.service.dagster_api import wait_for
from campaign_ops_tests.e2e.conftest import kill_everything, start_dev

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_daemon_pings_while_it_runs_and_the_pings_stop_with_it(
    db_url: str, empty_db_url: str, tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[float] = []

    def ping(request: Request) -> Response:
        pings.append(time.monotonic())
        return Response("OK")

    httpserver.expect_request("/ping/e2e-token").respond_with_handler(ping)
    monkeypatch.setenv("ALERT_HEARTBEAT_URL", httpserver.url_for("/ping/e2e-token"))
    service = start_dev(db_url, empty_db_url, tmp_path, "heartbeat")
    try:
        wait_for("the first heartbeat", lambda: pings or None, timeout_seconds=180)
        wait_for("the next heartbeat", lambda: len(pings) >= 2 or None, timeout_seconds=HEARTBEAT_INTERVAL_SECONDS + 90)
        assert pings[1] - pings[0] >= HEARTBEAT_INTERVAL_SECONDS - 10
        service.remember_pids()
        assert service.seen_pids, "the service's processes were not found: the check below would prove nothing"
        service.process.send_signal(signal.SIGINT)
        assert service.process.wait(timeout=90) == 0
        stopped = len(pings)
        alive = [pid for pid in service.seen_pids if _running(pid)]
        assert alive == [], f"processes of the service outlived its stop: {alive}"
        # a ping in flight at the stop would land now; a sensor tick later cannot come from a process that is gone
        time.sleep(30)
        assert len(pings) == stopped
    finally:
        kill_everything(service)
