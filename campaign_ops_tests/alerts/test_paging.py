"""The alerts that page: SMS through the `twilio` library and PagerDuty's Events API v2, each against a real HTTP
server on 127.0.0.1, on real PostgreSQL, with an injected clock; each channel keeps its own delivery state."""

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text

from campaign_ops.alerts.config import PagerDutyConfig, SlackConfig, TwilioConfig, twilio_config_from_env
from campaign_ops.alerts.dispatch import DispatchReport, dispatch
from campaign_ops.alerts.model import Alert, MessageItem, MessageKind, OutgoingMessage, Resolution
from campaign_ops.alerts.notifiers import Notifier, build_notifier, build_pagers
from campaign_ops.alerts.pagerduty import PagerDutyNotifier
from campaign_ops.alerts.phones import e164, e164_list
from campaign_ops.alerts.policy import AlertSettings
from campaign_ops.alerts.sms import TwilioSmsNotifier, gsm7, gsm7_length, render_sms
from campaign_ops.errors import ConfigError
from campaign_ops_tests.alerts.conftest import (
    PAGERDUTY_KEY,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    FakePagerDuty,
    FakeSlack,
    FakeTwilio,
    alert_row,
    channel_deliveries,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CLIENT = "3f1e0a52-0000-4000-8000-000000000001"


def pool_empty() -> Alert:
    return Alert(
        alert_type="POOL_EMPTY",
        key="pool_empty",
        severity="HIGH",
        title="No AVAILABLE number in the Twilio pool",
        summary="New clients cannot get a number.",
        facts=(("Numbers in the pool", "12"), ("Available", "0")),
        link="http://dagster.example:3000/assets/twilio_number_pool?view=checks&checkDetail=x",
    )


def run_failed(severity: str = "ERROR") -> Alert:
    return Alert(
        alert_type="RUN_FAILED",
        key="run_failed:reconciliation_job:all",
        severity=severity,
        title="reconciliation_job failed (all clients)",
        summary="boom",
        facts=(("Job", "reconciliation_job"),),
    )


def sms_config(twilio: FakeTwilio, *numbers: str) -> TwilioConfig:
    return TwilioConfig(TWILIO_SID, TWILIO_TOKEN, TWILIO_FROM, numbers or ("+447700900123",), twilio.api_url, 1.0)


def run(
    conn: Connection,
    slack: FakeSlack,
    pagers: list[Notifier],
    now: datetime,
    *alerts: Alert,
    **kwargs: object,
) -> DispatchReport:
    notifier = build_notifier(SlackConfig(webhook_url=slack.webhook_url, timeout_seconds=1.0))
    return dispatch(conn, firing=alerts, now=now, notifier=notifier, pagers=pagers, **kwargs)  # type: ignore[arg-type]


def test_a_critical_alert_goes_by_sms_to_every_number_and_to_slack(
    conn: Connection, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    sms = TwilioSmsNotifier(sms_config(twilio, "+447700900123", "+15005550009"))
    report = run(conn, slack, [sms], T0, pool_empty())
    assert (report.sent, report.paged) == (1, 1)
    assert len(slack.received) == 1
    assert [(m["To"], m["From"]) for m in twilio.received] == [
        ("+447700900123", TWILIO_FROM),
        ("+15005550009", TWILIO_FROM),
    ]
    expected_auth = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert twilio.authorizations == [expected_auth, expected_auth]
    body = twilio.bodies()[0]
    assert body == "[HIGH] POOL_EMPTY: Numbers in the pool 12 http://dagster.example:3000/assets/twilio_number_pool"
    assert TWILIO_TOKEN not in body and TWILIO_SID not in body
    assert [(d["channel"], d["status"], d["kind"]) for d in channel_deliveries(conn, "pool_empty", "sms")] == [
        ("sms", "sent", "firing")
    ]


def test_a_warn_never_pages_and_an_error_pages_once_unacknowledged_for_30_minutes(
    conn: Connection, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    sms = TwilioSmsNotifier(sms_config(twilio))
    settings = AlertSettings(ack_after=timedelta(minutes=30))
    run(conn, slack, [sms], T0, run_failed("WARN"), settings=settings)
    run(conn, slack, [sms], T0, run_failed("ERROR"), settings=settings)
    run(conn, slack, [sms], T0 + timedelta(minutes=29), run_failed(), settings=settings)
    assert twilio.received == []
    run(conn, slack, [sms], T0 + timedelta(minutes=30), run_failed(), settings=settings)
    assert twilio.bodies() == ["[ERROR] RUN_FAILED: Job reconciliation_job"]
    assert len(slack.received) == 2  # Slack: the WARN, then at once that it became an ERROR


def test_an_error_type_the_operator_lists_pages_at_once(conn: Connection, slack: FakeSlack, twilio: FakeTwilio) -> None:
    sms = TwilioSmsNotifier(sms_config(twilio))
    settings = AlertSettings(sms_types=frozenset({"RUN_FAILED"}))
    run(conn, slack, [sms], T0, run_failed("WARN"), settings=settings)
    assert twilio.received == []
    run(conn, slack, [sms], T0 + timedelta(minutes=1), run_failed("ERROR"), settings=settings)
    assert len(twilio.received) == 1
    assert twilio.bodies()[0].startswith("[ERROR] RUN_FAILED")


def test_when_twilio_fails_slack_and_the_log_still_get_it_and_the_next_tick_retries_sms_only(
    conn: Connection, slack: FakeSlack, twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    sms = TwilioSmsNotifier(sms_config(twilio))
    twilio.status = 500
    report = run(conn, slack, [sms], T0, pool_empty())
    assert (report.sent, report.paged, report.paging_failed) == (1, 0, 1)
    assert len(slack.received) == 1
    assert "[ALERT] SMS delivery failed (+44…23: HTTP 500" in caplog.text
    assert "[HIGH] No AVAILABLE number in the Twilio pool" in caplog.text
    state = conn.execute(text("SELECT * FROM alert_channel_states")).mappings().one()
    conn.commit()
    assert (state["channel"], state["pending_kind"], state["attempt_count"]) == ("sms", "firing", 1)
    assert state["next_attempt_at"] == T0 + timedelta(seconds=60)
    assert TWILIO_SID not in (state["last_error"] or "")

    twilio.status = 201
    assert run(conn, slack, [sms], T0 + timedelta(seconds=30)).retried == 0  # not due yet
    report = run(conn, slack, [sms], T0 + timedelta(seconds=60))  # due: SMS only
    assert (report.retried, report.paged, report.sent) == (1, 1, 0)
    assert len(slack.received) == 1 and len(twilio.received) == 2
    assert [d["status"] for d in channel_deliveries(conn, "pool_empty", "sms")] == ["failed", "sent"]
    assert alert_row(conn, "pool_empty")["send_count"] == 1


def test_suppression_and_reminders_per_channel(conn: Connection, slack: FakeSlack, twilio: FakeTwilio) -> None:
    sms = TwilioSmsNotifier(sms_config(twilio))
    slack.answer(500)  # Slack down for the first hour: SMS is not held back, nor repeated when Slack catches up
    for minutes in range(0, 6 * 60 + 1, 30):
        if minutes == 60:
            slack.answer(200)
        run(conn, slack, [sms], T0 + timedelta(minutes=minutes), pool_empty())
    assert [d["kind"] for d in channel_deliveries(conn, "pool_empty", "sms")] == ["firing", "reminder"]
    assert twilio.bodies()[1].startswith("[STILL HIGH] POOL_EMPTY")
    statuses = [(d["kind"], d["status"]) for d in channel_deliveries(conn, "pool_empty", "slack_webhook")]
    assert statuses[-1] == ("firing", "sent") and ("reminder", "sent") not in statuses


def test_resolved_reaches_every_channel_that_was_told(
    conn: Connection, slack: FakeSlack, twilio: FakeTwilio, pagerduty: FakePagerDuty
) -> None:
    pagers: list[Notifier] = [
        TwilioSmsNotifier(sms_config(twilio)),
        PagerDutyNotifier(PagerDutyConfig(PAGERDUTY_KEY, pagerduty.api_url, 1.0)),
    ]
    run(conn, slack, pagers, T0, pool_empty())
    report = run(conn, slack, pagers, T0 + timedelta(hours=1), resolutions=[Resolution("POOL_EMPTY", "pool_empty")])
    assert report.resolved == 1
    assert twilio.bodies()[1].startswith("[RESOLVED] POOL_EMPTY")
    assert pagerduty.actions() == [("trigger", "pool_empty"), ("resolve", "pool_empty")]
    trigger = pagerduty.received[0]
    assert trigger["routing_key"] == PAGERDUTY_KEY
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"] == "[HIGH] No AVAILABLE number in the Twilio pool"
    assert trigger["links"][0]["href"].startswith("http://dagster.example:3000/assets/twilio_number_pool")
    assert pagerduty.received[1] == {"routing_key": PAGERDUTY_KEY, "dedup_key": "pool_empty", "event_action": "resolve"}
    # a non-paging alert never reaches PagerDuty, not even its resolution
    run(conn, slack, pagers, T0 + timedelta(hours=2), run_failed("WARN"))
    run(conn, slack, pagers, T0 + timedelta(hours=3), resolutions=[Resolution("RUN_FAILED", run_failed().key)])
    assert len(pagerduty.received) == 2


def test_pagerduty_failure_is_retried_with_retry_after(
    conn: Connection, slack: FakeSlack, pagerduty: FakePagerDuty
) -> None:
    pd = PagerDutyNotifier(PagerDutyConfig(PAGERDUTY_KEY, pagerduty.api_url, 1.0))
    pagerduty.status = 500
    assert run(conn, slack, [pd], T0, pool_empty()).paging_failed == 1
    [failed] = channel_deliveries(conn, "pool_empty", "pagerduty")
    assert (failed["status"], failed["http_status"]) == ("failed", 500)
    assert PAGERDUTY_KEY not in (failed["error"] or "")
    pagerduty.status = 202
    assert run(conn, slack, [pd], T0 + timedelta(minutes=1)).paged == 1
    assert pagerduty.actions() == [("trigger", "pool_empty"), ("trigger", "pool_empty")]


def test_a_silence_holds_the_pages_too(conn: Connection, slack: FakeSlack, twilio: FakeTwilio) -> None:
    from campaign_ops.alerts.silences import create_silence

    create_silence(conn, duration=timedelta(hours=1), now=T0, created_by="ops", alert_type="POOL_EMPTY")
    report = run(conn, slack, [TwilioSmsNotifier(sms_config(twilio))], T0 + timedelta(minutes=1), pool_empty())
    assert (report.silenced, report.paged) == (1, 0)
    assert twilio.received == [] and slack.received == []


# --- configuration ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("07700900123", "use +447700900123 for a UK number"),
        ("0044 7700 900123", "use +447700900123 (+ instead of 00)"),
        ("+44 7700 900123", "use +447700900123 (no spaces or punctuation)"),
        ("447700900123", "use +447700900123 if 44… is the country code"),
        ("call me", "E.164 is + then the country code and the number"),
    ],
)
def test_a_number_not_in_e164_is_one_line_with_the_form_to_use(raw: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        e164(raw, "ADMIN_PHONE")
    assert hint in str(err.value)
    assert "\n" not in str(err.value)


def test_several_numbers() -> None:
    assert e164_list("+447700900123, +15005550009;+447700900123", "ADMIN_PHONE") == ("+447700900123", "+15005550009")
    with pytest.raises(ConfigError, match="use \\+447700900124 for a UK number"):
        e164_list("+447700900123,07700900124", "ADMIN_PHONE")


def test_half_a_twilio_configuration_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER", "ADMIN_PHONE"):
        monkeypatch.delenv(name, raising=False)
    assert twilio_config_from_env() is None
    monkeypatch.setenv("ADMIN_PHONE", "+447700900123")
    with pytest.raises(ConfigError, match="not set: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_NUMBER"):
        twilio_config_from_env()


def test_a_wrong_number_in_a_tick_fails_the_sms_loudly_and_slack_still_gets_the_alert(
    conn: Connection, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    def bad() -> TwilioConfig | None:
        return twilio_config_from_env(
            account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, from_number=TWILIO_FROM, admin_phone="07700900123"
        )

    pagers = build_pagers(bad, lambda: None)
    report = run(conn, slack, pagers, T0, pool_empty())
    assert (report.sent, report.paging_failed) == (1, 1)
    assert twilio.received == []
    [failed] = channel_deliveries(conn, "pool_empty", "sms")
    assert failed["error"] == (
        "SMS is misconfigured: ADMIN_PHONE: '07700900123' is not an E.164 phone number: "
        "use +447700900123 for a UK number"
    )


# --- the text -----------------------------------------------------------------------------------------------------


def message(*alerts: Alert, kind: MessageKind = MessageKind.FIRING) -> OutgoingMessage:
    return OutgoingMessage(kind, alerts[0].severity, tuple(MessageItem(a) for a in alerts))


def test_an_sms_fits_one_gsm7_message_whatever_the_alert_says() -> None:
    long_name = "Société Générale – Ünïcödé Outreach Ltd 🚀 " * 4
    alert = Alert(
        alert_type="STUCK_CLIENT",
        key=f"stuck_client:{CLIENT}",
        severity="HIGH",
        title="x",
        summary="secret xoxb-1111-2222-abc in the summary is never sent",
        client_id=CLIENT,
        client_name=long_name,
        facts=(("Client", long_name), ("State", "S9_FAILED → needs a person {x}"), ("In state", "3.0 h")),
        link="http://dagster.example:3000/assets/onboarding_states?view=checks&token=abc",
    )
    body = render_sms(message(alert))
    assert gsm7_length(body) <= 160
    assert gsm7(body) == body  # GSM-7 only: one SMS segment, not UCS-2
    assert body == (
        "[HIGH] STUCK_CLIENT Société Générale - Ünicödé Outreach L...: State S9_FAILED -> needs a person {x} "
        "http://dagster.example:3000/assets/onboarding_states"
    )
    assert "xoxb" not in body and "token" not in body
    short = render_sms(message(replace(alert, client_name="Acme")))
    assert short == (
        "[HIGH] STUCK_CLIENT Acme: State S9_FAILED -> needs a person {x} "
        "http://dagster.example:3000/assets/onboarding_states"
    )


def test_a_group_is_one_sms() -> None:
    alerts = [
        Alert("STUCK_CLIENT", f"stuck_client:{i}", "HIGH", "t", "s", client_name=f"Client {i}", group="g")
        for i in range(30)
    ]
    body = render_sms(message(*alerts))
    assert body.startswith("[HIGH] 30x STUCK_CLIENT: Client 0, Client 1, ")
    assert gsm7_length(body) <= 160


def test_an_sms_owed_when_the_alert_stops_paging_is_still_retried_not_stuck(
    conn: Connection, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    from campaign_ops.alerts.acks import acknowledge

    sms = TwilioSmsNotifier(sms_config(twilio))
    settings = AlertSettings(ack_after=timedelta(minutes=30))
    run(conn, slack, [sms], T0, run_failed(), settings=settings)
    twilio.status = 500
    run(conn, slack, [sms], T0 + timedelta(minutes=30), run_failed(), settings=settings)  # pages; the SMS fails
    alert_id = alert_row(conn, run_failed().key)["id"]
    acknowledge(conn, alert_id, by="sam", duration=timedelta(hours=1), reason=None, now=T0 + timedelta(minutes=31))
    twilio.status = 201
    report = run(conn, slack, [sms], T0 + timedelta(minutes=32), run_failed(), settings=settings)
    assert (report.retried, report.paged) == (1, 1)
    assert [d["status"] for d in channel_deliveries(conn, run_failed().key, "sms")] == ["failed", "sent"]


def test_an_alert_that_paged_is_one_alert_in_the_statistics(
    conn: Connection, slack: FakeSlack, twilio: FakeTwilio, pagerduty: FakePagerDuty
) -> None:
    from campaign_ops.alerts.stats import alert_stats

    pagers: list[Notifier] = [
        TwilioSmsNotifier(sms_config(twilio)),
        PagerDutyNotifier(PagerDutyConfig(PAGERDUTY_KEY, pagerduty.api_url, 1.0)),
    ]
    run(conn, slack, pagers, T0, pool_empty())
    stats = alert_stats(conn, hours=24, now=T0 + timedelta(minutes=1))
    assert (stats.alerts, stats.by_type) == (1, {"POOL_EMPTY": 1})


def test_an_error_raised_once_pages_when_nobody_acknowledged_it_in_time(
    conn: Connection, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    """A failed run is one event: its alert is not observed again, yet it pages 30 minutes on, at any later tick;
    an acknowledged one and a WARN do not; nor does a test alert."""
    from campaign_ops.alerts.acks import acknowledge

    sms = TwilioSmsNotifier(sms_config(twilio))
    settings = AlertSettings(ack_after=timedelta(minutes=30))
    acked = Alert("RUN_FAILED", "run_failed:other_job:all", "ERROR", "other_job failed", "boom")
    test = Alert("TEST", "test:manual", "ERROR", "campaign-ops test alert", "")
    run(
        conn,
        slack,
        [sms],
        T0,
        run_failed(),
        acked,
        replace(run_failed("WARN"), key="w"),
        test,
        settings=settings,
    )
    acknowledge(conn, alert_row(conn, acked.key)["id"], by="sam", duration=timedelta(hours=2), reason=None, now=T0)
    run(conn, slack, [sms], T0 + timedelta(minutes=29), settings=settings)
    assert twilio.received == []
    run(conn, slack, [sms], T0 + timedelta(minutes=31), settings=settings)  # another alert's tick, nothing firing
    assert twilio.bodies() == ["[ERROR] RUN_FAILED: Job reconciliation_job"]
    run(conn, slack, [sms], T0 + timedelta(minutes=40), settings=settings)
    assert len(twilio.received) == 1  # paged once
    assert [d["kind"] for d in channel_deliveries(conn, run_failed().key, "sms")] == ["firing"]
