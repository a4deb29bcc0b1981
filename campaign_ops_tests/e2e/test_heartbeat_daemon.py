"""The dead man's switch as an external monitor sees it: `campaign-ops dev` (a real daemon) pings ALERT_HEARTBEAT_URL
every 3 minutes while alerting is healthy, and with the daemon stopped the pings stop."""

import signal
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from campaign_ops.oncall.defs import HEARTBEAT_INTERVAL_SECONDS
from campaign_ops.service.dagster_api import wait_for
from campaign_ops_tests.e2e.conftest import kill_everything, start_dev

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


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
        service.process.send_signal(signal.SIGINT)
        assert service.process.wait(timeout=90) == 0
        stopped = len(pings)
        time.sleep(HEARTBEAT_INTERVAL_SECONDS + 30)  # a whole interval and more: a monitor would page now
        assert len(pings) == stopped
    finally:
        kill_everything(service)
