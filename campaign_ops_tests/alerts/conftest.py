"""Fixtures of the alert tests: a real HTTP server on 127.0.0.1 playing Slack, a Dagster instance, a clock."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Connection, text
from werkzeug import Request, Response

from campaign_ops.alerts.defs import SlackAlertResource, build_alert_sensors
from campaign_ops.resources import DatabaseResource

WEBHOOK_SECRET = "T0SECRET/B0SECRET/w3bh00kS3cr3tPath"
BOT_TOKEN = "xoxb-1111-2222-t0k3nS3cr3t"
UI_URL = "http://dagster.example:3000"


@dataclass
class FakeSlack:
    """Plays Slack's incoming webhook (POST /services/…) and chat.postMessage (POST /api/chat.postMessage).

    `status`, `headers` and `delay` decide the next answers; every request that reached the server is kept in
    `received` (its JSON body), whether it was answered 200 or not.
    """

    server: HTTPServer
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: str | None = None
    """What a failed answer says (default Slack's own `internal_error` / `ratelimited`); a relay may echo the path."""
    received: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return self.server.url_for(f"/services/{WEBHOOK_SECRET}")

    @property
    def api_url(self) -> str:
        return self.server.url_for("/api/")

    def answer(
        self, status: int = 200, headers: dict[str, str] | None = None, delay: float = 0.0, body: str | None = None
    ) -> None:
        self.status, self.headers, self.delay, self.body = status, headers or {}, delay, body

    def handle(self, request: Request) -> Response:
        if request.content_type and request.content_type.startswith("application/json"):
            body = request.get_json()
        else:  # WebClient posts forms when files are involved; not here, but keep what came
            body = dict(request.form)
            if isinstance(body.get("blocks"), str):
                body["blocks"] = json.loads(body["blocks"])
        self.received.append(body)
        self.authorizations.append(request.headers.get("Authorization", ""))
        if self.delay:
            time.sleep(self.delay)
        if request.path.startswith("/api/"):
            payload = {"ok": True} if self.status == 200 else {"ok": False, "error": self.body or "ratelimited"}
            return Response(json.dumps(payload), status=self.status, headers=self.headers, mimetype="application/json")
        error = self.body or "internal_error"
        return Response("ok" if self.status == 200 else error, status=self.status, headers=self.headers)

    def titles(self) -> list[str]:
        """The header text of every message received."""
        return [m["blocks"][0]["text"]["text"] for m in self.received]


@pytest.fixture
def slack(httpserver: HTTPServer) -> Iterator[FakeSlack]:
    fake = FakeSlack(httpserver)
    httpserver.expect_request("/services/" + WEBHOOK_SECRET, method="POST").respond_with_handler(fake.handle)
    httpserver.expect_request("/api/chat.postMessage", method="POST").respond_with_handler(fake.handle)
    yield fake


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def database(db_url: str) -> DatabaseResource:
    return DatabaseResource(url=db_url)


@pytest.fixture
def slack_alerts(slack: FakeSlack) -> SlackAlertResource:
    return SlackAlertResource(webhook_url=slack.webhook_url, dagster_ui_url=UI_URL, timeout_seconds=1.0)


@dataclass
class SensorDriver:
    """Runs real ticks of the alert sensors (the clock injected), carrying each sensor's cursor between ticks."""

    instance: dg.DagsterInstance
    database: DatabaseResource
    slack_alerts: SlackAlertResource
    clock: FakeClock
    cursors: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sensors = {s.name: s for s in build_alert_sensors(clock=self.clock)}

    def tick(self, name: str, slack_alerts: SlackAlertResource | None = None) -> dg.SensorResult:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(name),
            resources={"database": self.database, "slack_alerts": slack_alerts or self.slack_alerts},
        )
        result = self.sensors[name](context)
        assert isinstance(result, dg.SensorResult)
        if result.cursor is not None:
            self.cursors[name] = result.cursor
        return result


@pytest.fixture
def driver(
    instance: dg.DagsterInstance, database: DatabaseResource, slack_alerts: SlackAlertResource, clock: FakeClock
) -> SensorDriver:
    return SensorDriver(instance, database, slack_alerts, clock)


def alert_row(conn: Connection, key: str) -> dict[str, Any]:
    row = conn.execute(text("SELECT * FROM alert_logs WHERE alert_key = :k"), {"k": key}).mappings().one()
    conn.commit()
    return dict(row)


def deliveries(conn: Connection, key: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT d.* FROM alert_deliveries d JOIN alert_logs a ON a.id = d.alert_log_id"
            " WHERE a.alert_key = :k ORDER BY d.id"
        ),
        {"k": key},
    ).mappings()
    result = [dict(r) for r in rows]
    conn.commit()
    return result


TWILIO_SID = "AC0000000000000000000000000000sid1"
TWILIO_TOKEN = "tw1l10AuthT0kenS3cret"
TWILIO_FROM = "+15005550006"
PAGERDUTY_KEY = "pdR0ut1ngK3yS3cret0000000000000"


@dataclass
class FakeTwilio:
    """Plays Twilio's Messages API (POST /2010-04-01/Accounts/<sid>/Messages.json, form-encoded), answering 201
    with a message resource, or `status` with Twilio's error body."""

    server: HTTPServer
    status: int = 201
    echo: str = "The 'To' number is not a valid phone number."
    """What a failed answer's message says (a relay may echo what it was sent)."""
    received: list[dict[str, str]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def handle(self, request: Request) -> Response:
        body = dict(request.form)
        self.received.append(body)
        self.authorizations.append(request.headers.get("Authorization", ""))
        if self.status >= 400:
            error = {"code": 21211, "message": self.echo, "status": self.status}
            return Response(json.dumps(error), status=self.status, mimetype="application/json")
        message = {
            "sid": f"SM{len(self.received):032d}",
            "account_sid": TWILIO_SID,
            "to": body.get("To"),
            "from": body.get("From"),
            "body": body.get("Body"),
            "status": "queued",
            "num_segments": "1",
        }
        return Response(json.dumps(message), status=201, mimetype="application/json")

    def bodies(self) -> list[str]:
        return [m["Body"] for m in self.received]


@pytest.fixture
def twilio(httpserver: HTTPServer) -> FakeTwilio:
    fake = FakeTwilio(httpserver)
    path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    httpserver.expect_request(path, method="POST").respond_with_handler(fake.handle)
    return fake


@dataclass
class FakePagerDuty:
    """Plays PagerDuty's Events API v2 (POST /v2/enqueue): 202 with the dedup key, or `status`."""

    server: HTTPServer
    status: int = 202
    echo: str = "busy"
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def handle(self, request: Request) -> Response:
        body = request.get_json()
        self.received.append(body)
        if self.status != 202:
            return Response(json.dumps({"status": "error", "message": self.echo}), status=self.status)
        answer = {"status": "success", "message": "Event processed", "dedup_key": body.get("dedup_key")}
        return Response(json.dumps(answer), status=202, mimetype="application/json")

    def actions(self) -> list[tuple[str, str]]:
        return [(e["event_action"], e["dedup_key"]) for e in self.received]


@pytest.fixture
def pagerduty(httpserver: HTTPServer) -> FakePagerDuty:
    fake = FakePagerDuty(httpserver)
    httpserver.expect_request("/v2/enqueue", method="POST").respond_with_handler(fake.handle)
    return fake


def twilio_env(twilio: FakeTwilio, phones: str = "+447700900123") -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_NUMBER": TWILIO_FROM,
        "ADMIN_PHONE": phones,
        "TWILIO_API_URL": twilio.api_url,
    }


def channel_deliveries(conn: Connection, key: str, channel: str) -> list[dict[str, Any]]:
    return [d for d in deliveries(conn, key) if d["channel"] == channel]
