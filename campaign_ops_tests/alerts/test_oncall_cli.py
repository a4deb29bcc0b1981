"""What the person on call types: `alerts ack`, the acknowledge job, `alerts test --critical` (the phone), with a
real database, real HTTP servers playing Slack, Twilio and PagerDuty, and the CLI's one-line errors."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from click.testing import CliRunner
from sqlalchemy import Connection, text

from campaign_ops.alerts.config import SlackConfig
from campaign_ops.alerts.defs import SlackAlertResource, acknowledge_alert_job
from campaign_ops.alerts.dispatch import DispatchReport, dispatch
from campaign_ops.alerts.model import Alert
from campaign_ops.alerts.notifiers import Notifier, build_notifier
from campaign_ops.alerts.policy import AlertSettings
from campaign_ops.alerts.sms import TwilioSmsNotifier
from campaign_ops.cli import main
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.alerts.conftest import (
    PAGERDUTY_KEY,
    TWILIO_TOKEN,
    FakePagerDuty,
    FakeSlack,
    FakeTwilio,
    alert_row,
    channel_deliveries,
    twilio_env,
)
from campaign_ops_tests.alerts.test_paging import pool_empty, run_failed, sms_config

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def tick(conn: Connection, slack: FakeSlack, pagers: list[Notifier], now: datetime, *alerts: Alert) -> DispatchReport:
    notifier = build_notifier(SlackConfig(webhook_url=slack.webhook_url, timeout_seconds=1.0))
    settings = AlertSettings(ack_after=timedelta(minutes=30))
    return dispatch(conn, firing=alerts, now=now, notifier=notifier, pagers=pagers, settings=settings)


def ack_row(conn: Connection) -> dict[str, object]:
    row = dict(conn.execute(text("SELECT * FROM alert_acks")).mappings().one())
    conn.commit()
    return row


def test_an_acknowledged_error_does_not_page_nor_repeat_until_it_gets_worse(
    db_env: str, conn: Connection, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    sms = TwilioSmsNotifier(sms_config(twilio))
    now = datetime.now(UTC)  # the CLI acknowledges at the wall clock; the ticks follow it
    tick(conn, slack, [sms], now, run_failed("ERROR"))
    alert_id = alert_row(conn, run_failed().key)["id"]
    result = CliRunner().invoke(
        main, ["alerts", "ack", str(alert_id), "--by", "sam", "--for", "8h", "--reason", "rerunning the job"]
    )
    assert result.exit_code == 0, result.output
    said = f"alert #{alert_id} RUN_FAILED run_failed:reconciliation_job:all (ERROR) acknowledged by sam"
    assert said in result.output
    ack = ack_row(conn)
    assert (ack["acked_by"], ack["reason"], ack["severity"]) == ("sam", "rerunning the job", "ERROR")
    assert "acknowledged by sam until" in CliRunner().invoke(main, ["alerts", "list"]).output

    for minutes in (31, 60, 6 * 60 + 5):  # past the ack window (no page) and past the suppression window (no reminder)
        assert tick(conn, slack, [sms], now + timedelta(minutes=minutes), run_failed("ERROR")).suppressed == 1
    assert twilio.received == [] and len(slack.received) == 1
    # worse than when acknowledged: said at once
    worse = tick(conn, slack, [sms], now + timedelta(hours=7), run_failed("HIGH"))
    assert worse.sent == 1 and len(slack.received) == 2
    # the acknowledgement runs out: an unacknowledged ERROR for over 30 minutes pages again
    tick(conn, slack, [sms], now + timedelta(hours=9), run_failed("ERROR"))
    assert len(twilio.received) == 1


def test_a_critical_alert_acknowledged_is_not_reminded_on_any_channel(
    db_env: str, conn: Connection, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    sms = TwilioSmsNotifier(sms_config(twilio))
    now = datetime.now(UTC)
    tick(conn, slack, [sms], now, pool_empty())
    alert_id = alert_row(conn, "pool_empty")["id"]
    assert f"#{alert_id} HIGH     POOL_EMPTY" in CliRunner().invoke(main, ["alerts", "list"]).output
    assert ", sms paged" in CliRunner().invoke(main, ["alerts", "list"]).output
    assert CliRunner().invoke(main, ["alerts", "ack", str(alert_id), "--by", "sam"]).exit_code == 0  # 2h default
    tick(conn, slack, [sms], now + timedelta(hours=1), pool_empty())
    assert (len(slack.received), len(twilio.received)) == (1, 1)
    tick(conn, slack, [sms], now + timedelta(hours=6, minutes=1), pool_empty())  # ack over, window over: reminded
    assert (len(slack.received), len(twilio.received)) == (2, 2)
    assert [d["kind"] for d in channel_deliveries(conn, "pool_empty", "sms")] == ["firing", "reminder"]


def test_ack_of_what_is_not_open_is_one_line_and_writes_nothing(db_env: str, conn: Connection) -> None:
    for args, expected in [
        (["alerts", "ack", "999", "--by", "sam"], "error: alert #999 does not exist (see `campaign-ops alerts list`)"),
        (["alerts", "ack", "1", "--by", " "], "--by"),
        (["alerts", "ack", "1", "--by", "sam", "--for", "40d"], "--for: at most 30d"),
        (["alerts", "ack", "x1", "--by", "sam"], "is not a whole number"),
    ]:
        result = CliRunner().invoke(main, args)
        assert result.exit_code != 0, args
        assert expected in result.output, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert conn.execute(text("SELECT count(*) FROM alert_acks")).scalar() == 0


def test_the_acknowledge_job_does_what_the_command_does(db_url: str, conn: Connection, slack: FakeSlack) -> None:
    tick(conn, slack, [], T0, run_failed("ERROR"))
    alert_id = alert_row(conn, run_failed().key)["id"]
    config = {"ops": {"acknowledge_alert": {"config": {"alert_id": alert_id, "by": "ui user", "duration": "30m"}}}}
    with dg.instance_for_test() as instance:
        result = acknowledge_alert_job.execute_in_process(
            run_config=config,
            instance=instance,
            resources={"database": DatabaseResource(url=db_url), "slack_alerts": SlackAlertResource()},
        )
    assert result.success
    ack = ack_row(conn)
    assert ack["acked_by"] == "ui user"
    assert ack["until"] - ack["acked_at"] == timedelta(minutes=30)  # type: ignore[operator]


def test_alerts_test_critical_reaches_every_channel(
    db_env: str, conn: Connection, slack: FakeSlack, twilio: FakeTwilio, pagerduty: FakePagerDuty
) -> None:
    env = {
        "ALERT_WEBHOOK_URL": slack.webhook_url,
        **twilio_env(twilio, "+447700900123,+15005550009"),
        "PAGERDUTY_ROUTING_KEY": PAGERDUTY_KEY,
        "PAGERDUTY_API_URL": pagerduty.api_url,
    }
    for _ in range(2):  # a second test is sent too (a test alert is closed at once)
        result = CliRunner().invoke(main, ["alerts", "test", "--critical"], env=env)
        assert result.exit_code == 0, result.output
    assert "SMS through Twilio to +44…23, +15…09; PagerDuty Events API v2" in result.output
    assert "1 sent" in result.output and "2 paged, 0 paging failed" in result.output
    assert len(slack.received) == 2
    assert twilio.bodies()[:2] == ["[CRITICAL] TEST: campaign-ops test alert"] * 2
    assert len(twilio.received) == 4
    assert pagerduty.actions() == [("trigger", "test:critical:manual")] * 2
    assert TWILIO_TOKEN not in result.output and PAGERDUTY_KEY not in result.output


def test_alerts_test_critical_with_a_national_number_says_the_e164_form_and_sends_nothing(
    db_env: str, conn: Connection, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    env = {"ALERT_WEBHOOK_URL": slack.webhook_url, **twilio_env(twilio, "07700900123")}
    result = CliRunner().invoke(main, ["alerts", "test", "--critical"], env=env)
    assert result.exit_code == 1
    assert result.output == (
        "error: ADMIN_PHONE: '07700900123' is not an E.164 phone number: use +447700900123 for a UK number\n"
    )
    assert slack.received == [] and twilio.received == []
    assert conn.execute(text("SELECT count(*) FROM alert_logs")).scalar() == 0


def test_alerts_test_critical_when_twilio_fails_exits_1_after_slack_got_it(
    db_env: str, conn: Connection, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    twilio.status = 400
    env = {"ALERT_WEBHOOK_URL": slack.webhook_url, **twilio_env(twilio)}
    result = CliRunner().invoke(main, ["alerts", "test", "--critical"], env=env)
    assert result.exit_code == 1, result.output
    assert len(slack.received) == 1
    assert "error: the test alert was not delivered" in result.output
    [failed] = channel_deliveries(conn, "test:critical:manual", "sms")
    assert failed["error"] == "+44…23: HTTP 400: Unable to create record: The 'To' number is not a valid phone number."


def test_ack_acknowledges_the_pagerduty_incident_too(
    db_env: str, conn: Connection, slack: FakeSlack, pagerduty: FakePagerDuty
) -> None:
    from campaign_ops.alerts.config import PagerDutyConfig
    from campaign_ops.alerts.pagerduty import PagerDutyNotifier

    pd = PagerDutyNotifier(PagerDutyConfig(PAGERDUTY_KEY, pagerduty.api_url, 1.0))
    tick(conn, slack, [pd], datetime.now(UTC), pool_empty())
    alert_id = alert_row(conn, "pool_empty")["id"]
    env = {"PAGERDUTY_ROUTING_KEY": PAGERDUTY_KEY, "PAGERDUTY_API_URL": pagerduty.api_url}
    result = CliRunner().invoke(main, ["alerts", "ack", str(alert_id), "--by", "sam"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "PagerDuty: incident acknowledged"
    assert pagerduty.actions() == [("trigger", "pool_empty"), ("acknowledge", "pool_empty")]
