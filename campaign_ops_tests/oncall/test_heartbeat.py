"""The alert pipeline watching itself, in real sensor ticks on a real instance: the heartbeat pings only while
every alert sensor ticks and nothing is stuck; one root-cause alert while the database is unreachable or
processing is paused, the alerts that follow from it held until it clears."""

from collections.abc import Callable
from datetime import timedelta

import dagster as dg
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Connection, text
from werkzeug import Request, Response

from campaign_ops.alerts.defs import SlackAlertResource, build_alert_sensors
from campaign_ops.critical_alerts.defs import build_critical_alert_sensor
from campaign_ops.oncall.defs import build_heartbeat_sensor
from campaign_ops.pause.core import record_pause, record_resume
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.alerts.conftest import (
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    UI_URL,
    FakeClock,
    FakeSlack,
    FakeTwilio,
)
from campaign_ops_tests.critical_alerts.test_critical_alerts import add_number, fail_runs
from campaign_ops_tests.factories import add_client

HEARTBEAT_TOKEN = "hb-t0ken-S3cret"


class Ticks:
    """Real ticks of the alert sensors and the heartbeat, each with its name and cursor, at the clock's time."""

    def __init__(
        self, instance: dg.DagsterInstance, database: DatabaseResource, alerts: SlackAlertResource, clock: FakeClock
    ) -> None:
        self.instance, self.database, self.alerts, self.clock = instance, database, alerts, clock
        sensors = [*build_alert_sensors(clock), build_critical_alert_sensor(clock), build_heartbeat_sensor(clock)]
        self.sensors = {s.name: s for s in sensors}
        self.cursors: dict[str, str | None] = {}

    def tick(self, name: str, database: DatabaseResource | None = None) -> dg.SensorResult:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(name),
            sensor_name=name,
            resources={"database": database or self.database, "slack_alerts": self.alerts},
        )
        result = self.sensors[name](context)
        assert isinstance(result, dg.SensorResult)
        self.cursors[name] = result.cursor
        return result

    def alert_sensors(self) -> None:
        for name in ("run_status_alert_sensor", "asset_check_alert_sensor", "critical_alert_sensor"):
            self.tick(name)

    def heartbeat(self, database: DatabaseResource | None = None) -> str:
        reason = self.tick("alert_pipeline_sensor", database).skip_reason
        return reason.skip_message or "" if reason else ""


@pytest.fixture
def pings(httpserver: HTTPServer) -> list[str]:
    received: list[str] = []

    def handle(request: Request) -> Response:
        received.append(request.method)
        return Response("OK", status=200)

    httpserver.expect_request(f"/ping/{HEARTBEAT_TOKEN}").respond_with_handler(handle)
    return received


@pytest.fixture
def ticks(
    instance: dg.DagsterInstance,
    database: DatabaseResource,
    slack: FakeSlack,
    twilio: FakeTwilio,
    clock: FakeClock,
    httpserver: HTTPServer,
    conn: Connection,
) -> Ticks:
    add_number(conn)  # a healthy platform: no POOL_EMPTY
    conn.commit()
    alerts = SlackAlertResource(
        webhook_url=slack.webhook_url,
        dagster_ui_url=UI_URL,
        timeout_seconds=1,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_number=TWILIO_FROM,
        admin_phone="+447700900123",
        twilio_api_url=twilio.api_url,
        heartbeat_url=httpserver.url_for(f"/ping/{HEARTBEAT_TOKEN}"),
    )
    return Ticks(instance, database, alerts, clock)


def every_minute(ticks: Ticks, minutes: int, alert_sensors: bool = True, each: Callable[[], None] | None = None) -> int:
    """`minutes` of a daemon: the alert sensors every minute (or not), the heartbeat every 3; beats sent."""
    beats = 0
    for minute in range(1, minutes + 1):
        ticks.clock.advance(minutes=1)
        if alert_sensors:
            ticks.alert_sensors()
        if minute % 3 == 0:
            beats += ticks.heartbeat().startswith("healthy, heartbeat sent;")
    return beats


def test_the_heartbeat_stops_when_the_alert_sensors_stop_and_alerting_broken_pages(
    ticks: Ticks, pings: list[str], slack: FakeSlack, twilio: FakeTwilio
) -> None:
    assert every_minute(ticks, 9) == 3
    assert pings == ["GET"] * 3 and slack.received == [] and twilio.received == []
    # the alert sensors stop ticking (a stopped daemon, a sensor failing at every tick): past 3 of their intervals
    # and a grace of 2 minutes (5 minutes), the pings stop
    assert every_minute(ticks, 15, alert_sensors=False) == 1
    assert len(pings) == 4
    assert slack.titles() == [":rotating_light: [CRITICAL] Alerting is broken: alerts may not arrive"]
    assert "run_status_alert_sensor last ticked" in str(slack.received[0])
    assert len(twilio.received) == 1
    assert twilio.bodies()[0].startswith(
        "[CRITICAL] ALERT_PIPELINE: Problem asset_check_alert_sensor last ticked 6 min"
    )
    # they tick again: resolved, and the heartbeat comes back
    assert every_minute(ticks, 3) == 1
    assert slack.titles()[-1] == ":white_check_mark: [RESOLVED] Alerting is broken: alerts may not arrive"
    assert twilio.bodies()[-1].startswith("[RESOLVED] ALERT_PIPELINE")


def test_messages_stuck_in_retry_stop_the_heartbeat(
    ticks: Ticks, pings: list[str], conn: Connection, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    slack.answer(500)  # every retry fails
    conn.execute(
        text(
            "INSERT INTO alert_logs (alert_type, alert_key, severity, active_since, pending_kind, next_attempt_at,"
            " attempt_count) VALUES ('RUN_FAILED', 'k', 'ERROR', :t, 'firing', :t, 5)"
        ),
        {"t": ticks.clock.now},
    )
    conn.commit()
    assert every_minute(ticks, 3) == 0
    assert pings == []
    assert twilio.bodies()[0].startswith("[CRITICAL] ALERT_PIPELINE: Problem 1 message(s) stuck in retry on Slack")


def test_a_database_outage_is_one_root_cause_alert(
    ticks: Ticks, pings: list[str], slack: FakeSlack, twilio: FakeTwilio
) -> None:
    closed = DatabaseResource(url="postgresql://ops:pw@127.0.0.1:1/campaign_ops?connect_timeout=2")
    every_minute(ticks, 3)
    for _ in range(3):  # three heartbeats in 10 minutes: one message
        ticks.clock.advance(minutes=3)
        assert ticks.heartbeat(closed).startswith("database unreachable: cannot connect to PostgreSQL")
        with pytest.raises(Exception, match="cannot connect"):  # the alert sensors fail their ticks meanwhile
            ticks.tick("critical_alert_sensor", closed)
    assert slack.titles() == [":rotating_light: [CRITICAL] The application database is unreachable"]
    assert "pw" not in str(slack.received) and len(twilio.received) == 1
    assert len(pings) == 1
    # back: the root cause is resolved where it was said, and the heartbeat resumes
    assert every_minute(ticks, 3) == 1
    assert slack.titles()[-1] == ":white_check_mark: [RESOLVED] The application database is unreachable"


def test_while_paused_the_alerts_that_follow_are_held_and_one_says_why(
    ticks: Ticks, slack: FakeSlack, twilio: FakeTwilio, conn: Connection, instance: dg.DagsterInstance
) -> None:
    client = add_client(conn, name="Acme")
    fail_runs(conn, client, ticks.clock.now - timedelta(minutes=1), 5, 15)  # the runs a pause makes fail
    conn.commit()
    record_pause(conn, by="sam", reason="bad import")
    every_minute(ticks, 6)
    assert slack.titles() == [
        ":large_orange_circle: [WARN] Processing is paused: de-enrollment and its alerts are held"
    ]
    assert twilio.received == []  # REPEATED_FAILURE is held: no page for what the pause causes
    record_resume(conn, by="sam")
    every_minute(ticks, 3)
    titles = slack.titles()
    assert ":white_check_mark: [RESOLVED] Processing is paused: de-enrollment and its alerts are held" in titles
    assert any("5 de-enrollment passes in a row failed" in t for t in titles)
    assert twilio.bodies() == [
        f"[HIGH] REPEATED_FAILURE Acme: First failure {twilio.bodies()[0].split('First failure ')[1]}"
    ]


def test_a_held_message_is_owed_afresh_each_tick_never_stuck(conn: Connection, slack: FakeSlack) -> None:
    from campaign_ops.alerts.config import SlackConfig
    from campaign_ops.alerts.dispatch import dispatch
    from campaign_ops.alerts.notifiers import build_notifier
    from campaign_ops.oncall.core import pipeline_health
    from campaign_ops_tests.alerts.test_paging import T0, run_failed

    notifier = build_notifier(SlackConfig(webhook_url=slack.webhook_url, timeout_seconds=1.0))
    slack.answer(500)
    dispatch(conn, firing=[run_failed()], now=T0, notifier=notifier)  # owed before the pause
    slack.answer(200)
    held = frozenset({"RUN_FAILED"})
    for minutes in (20, 40):
        now = T0 + timedelta(minutes=minutes)
        assert dispatch(conn, firing=[run_failed()], now=now, notifier=notifier, held_types=held).held == 1
        assert pipeline_health(conn, now, {}, now).healthy
    assert len(slack.received) == 1
    report = dispatch(conn, firing=[run_failed()], now=T0 + timedelta(minutes=41), notifier=notifier)
    assert report.sent == 1  # the pause is over: said at once
    assert len(slack.received) == 2
