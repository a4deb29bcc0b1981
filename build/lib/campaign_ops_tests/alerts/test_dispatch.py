"""The alert pipeline on real PostgreSQL, delivering to a real HTTP server playing Slack, with an injected clock."""

import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, text

from campaign_ops.alerts.config import SlackConfig
from campaign_ops.alerts.dispatch import DispatchReport, dispatch
from campaign_ops.alerts.model import Alert, Resolution, ResolveScope
from campaign_ops.alerts.notifiers import LogNotifier, build_notifier
from campaign_ops.alerts.policy import AlertSettings
from campaign_ops.alerts.silences import create_silence
from campaign_ops.errors import mask_secrets
from campaign_ops_tests.alerts.conftest import BOT_TOKEN, FakeSlack, alert_row, deliveries
from campaign_ops_tests.factories import add_client

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def check_alert(key: str = "check_failed:stuck_leads:all", severity: str = "ERROR", **kwargs: object) -> Alert:
    return Alert(
        alert_type="CHECK_FAILED",
        key=key,
        severity=severity,
        title=f"Check stuck_leads failed ({key})",
        summary="612 stuck leads",
        facts=(("stuck_leads", "612"),),
        link="http://dagster.example:3000/assets/leads?view=checks&checkDetail=stuck_leads",
        **kwargs,  # type: ignore[arg-type]
    )


def run(conn: Connection, slack: FakeSlack, now: datetime, *alerts: Alert, **kwargs: object) -> DispatchReport:
    notifier = build_notifier(SlackConfig(webhook_url=slack.webhook_url, timeout_seconds=0.5))
    return dispatch(conn, firing=alerts, now=now, notifier=notifier, **kwargs)  # type: ignore[arg-type]


def test_same_alert_is_sent_once_within_the_window_then_reminded(conn: Connection, slack: FakeSlack) -> None:
    alert = check_alert()
    assert run(conn, slack, T0, alert).sent == 1
    for later in (timedelta(minutes=1), timedelta(hours=1), timedelta(hours=5, minutes=59)):
        report = run(conn, slack, T0 + later, alert)
        assert (report.sent, report.suppressed) == (0, 1)
    assert len(slack.received) == 1
    assert slack.titles() == [":red_circle: [ERROR] Check stuck_leads failed (check_failed:stuck_leads:all)"]

    assert run(conn, slack, T0 + timedelta(hours=6), alert).sent == 1  # the window is over: a reminder
    assert len(slack.received) == 2
    assert "Still failing since 2026-03-02 08:00 UTC" in str(slack.received[1]["blocks"])

    row = alert_row(conn, alert.key)
    assert (row["send_count"], row["seen_count"], row["delivery_status"]) == (2, 5, "sent")
    assert (row["first_sent_at"], row["last_sent_at"], row["active_since"]) == (T0, T0 + timedelta(hours=6), T0)
    assert [d["kind"] for d in deliveries(conn, alert.key)] == ["firing", "reminder"]


def test_configurable_window(conn: Connection, slack: FakeSlack) -> None:
    settings = AlertSettings(suppression=timedelta(hours=1))
    alert = check_alert()
    run(conn, slack, T0, alert, settings=settings)
    run(conn, slack, T0 + timedelta(minutes=59), alert, settings=settings)
    run(conn, slack, T0 + timedelta(hours=1), alert, settings=settings)
    assert len(slack.received) == 2


def test_message_blocks_carry_title_severity_facts_and_link(conn: Connection, slack: FakeSlack) -> None:
    run(conn, slack, T0, check_alert(severity="WARN"))
    message = slack.received[0]
    header, summary, fields, link, context = message["blocks"]
    expected_header = ":large_orange_circle: [WARN] Check stuck_leads failed (check_failed:stuck_leads:all)"
    assert header["text"]["text"] == expected_header
    assert summary["text"]["text"] == "612 stuck leads"
    assert fields["fields"] == [{"type": "mrkdwn", "text": "*stuck_leads*\n612"}]
    assert link["text"]["text"] == (
        "<http://dagster.example:3000/assets/leads?view=checks&checkDetail=stuck_leads|Open in Dagster>"
    )
    assert context["elements"][0]["text"] == "`CHECK_FAILED` · `check_failed:stuck_leads:all`"
    assert message["text"].startswith("[WARN] Check stuck_leads failed")


def test_warn_still_failing_after_12h_is_escalated_once(conn: Connection, slack: FakeSlack) -> None:
    warn = check_alert(key="check_failed:stats_drift:all", severity="WARN")
    for hour in range(0, 19):
        run(conn, slack, T0 + timedelta(hours=hour), warn)
    kinds = [d["kind"] for d in deliveries(conn, warn.key)]
    # sent at 0 h, reminded at 6 h, escalated once at 12 h, reminded (now as ERROR) at 18 h
    assert kinds == ["firing", "reminder", "escalation", "reminder"]
    assert [d["severity"] for d in deliveries(conn, warn.key)] == ["WARN", "WARN", "ERROR", "ERROR"]
    assert slack.titles()[2] == (
        ":red_circle: [ESCALATED → ERROR] Check stuck_leads failed (check_failed:stats_drift:all)"
    )
    assert "Escalated WARN → ERROR: still failing since 2026-03-02 08:00 UTC" in str(slack.received[2]["blocks"])
    row = alert_row(conn, warn.key)
    assert (row["escalated_at"], row["severity"]) == (T0 + timedelta(hours=12), "ERROR")


def test_an_open_alert_getting_worse_is_said_at_once_and_only_once(conn: Connection, slack: FakeSlack) -> None:
    """One detector, one key, two lines (stuck leads: WARN above 100, ERROR above 500): crossing the higher line
    while the WARN is open is news within the suppression window; dropping back and crossing again is not."""
    warn, error = check_alert(severity="WARN"), check_alert(severity="ERROR")
    assert run(conn, slack, T0, warn).sent == 1
    assert run(conn, slack, T0 + timedelta(minutes=5), error).sent == 1
    assert slack.titles()[1] == ":red_circle: [ERROR] Check stuck_leads failed (check_failed:stuck_leads:all)"
    assert "Worse: WARN → ERROR (failing since 2026-03-02 08:00 UTC)." in str(slack.received[1]["blocks"])
    for minutes, alert in ((10, warn), (15, error), (20, warn), (25, error)):
        assert run(conn, slack, T0 + timedelta(minutes=minutes), alert).suppressed == 1
    assert [(d["kind"], d["severity"]) for d in deliveries(conn, warn.key)] == [
        ("firing", "WARN"),
        ("firing", "ERROR"),
    ]


def test_error_alerts_do_not_escalate(conn: Connection, slack: FakeSlack) -> None:
    error = check_alert()
    for hour in range(0, 13):
        run(conn, slack, T0 + timedelta(hours=hour), error)
    assert [d["kind"] for d in deliveries(conn, error.key)] == ["firing", "reminder", "reminder"]
    assert alert_row(conn, error.key)["escalated_at"] is None


def test_escalation_needs_an_unbroken_incident(conn: Connection, slack: FakeSlack) -> None:
    warn = check_alert(severity="WARN")
    run(conn, slack, T0, warn)
    run(conn, slack, T0 + timedelta(hours=8), resolutions=[Resolution("CHECK_FAILED", warn.key)])
    run(conn, slack, T0 + timedelta(hours=9), warn)  # a new incident starts here
    run(conn, slack, T0 + timedelta(hours=13), warn)  # 13 h after the first, 4 h into this one
    assert [d["kind"] for d in deliveries(conn, warn.key)] == ["firing", "resolved", "firing"]


def test_one_resolved_message_after_recovery_and_a_new_incident_is_sent_at_once(
    conn: Connection, slack: FakeSlack
) -> None:
    alert = check_alert()
    run(conn, slack, T0, alert)
    resolution = Resolution("CHECK_FAILED", alert.key, note="stuck_leads passed", link="http://dagster.example/x")
    report = run(conn, slack, T0 + timedelta(hours=1), resolutions=[resolution])
    assert (report.resolved, report.sent) == (1, 1)
    assert slack.titles()[-1] == ":white_check_mark: [RESOLVED] Check stuck_leads failed (check_failed:stuck_leads:all)"
    assert "stuck_leads passed; failing since 2026-03-02 08:00 UTC" in str(slack.received[-1]["blocks"])
    # passing again changes nothing
    assert run(conn, slack, T0 + timedelta(hours=2), resolutions=[resolution]).resolved == 0
    assert len(slack.received) == 2
    # failing again within 6 h of the last message is a new incident: said at once
    assert run(conn, slack, T0 + timedelta(hours=3), alert).sent == 1
    row = alert_row(conn, alert.key)
    assert (row["active_since"], row["resolved_at"], row["resolved_notified_at"]) == (
        T0 + timedelta(hours=3),
        None,
        T0 + timedelta(hours=1),
    )
    assert [d["kind"] for d in deliveries(conn, alert.key)] == ["firing", "resolved", "firing"]


def test_resolve_scope_resolves_what_no_longer_fires(conn: Connection, slack: FakeSlack) -> None:
    a, b = check_alert(key="no_recent_success:a"), check_alert(key="no_recent_success:b")
    run(conn, slack, T0, a, b)
    scope = ResolveScope("CHECK_FAILED", "no_recent_success:")
    report = run(conn, slack, T0 + timedelta(minutes=5), a, resolve_scopes=[scope])
    assert (report.resolved, report.suppressed) == (1, 1)
    assert alert_row(conn, b.key)["resolved_at"] == T0 + timedelta(minutes=5)
    assert alert_row(conn, a.key)["resolved_at"] is None


def test_silences_withhold_and_record(conn: Connection, slack: FakeSlack) -> None:
    client_a, client_b = add_client(conn), add_client(conn)
    conn.commit()
    silence = create_silence(
        conn, duration=timedelta(hours=2), now=T0, created_by="ops", alert_type="CHECK_FAILED", client_id=client_a
    )
    for_a = check_alert(key=f"check_failed:stuck_leads:{client_a}", client_id=client_a)
    for_b = check_alert(key=f"check_failed:stuck_leads:{client_b}", client_id=client_b)
    other_type = Alert("NO_RECENT_SUCCESS", f"no_recent_success:{client_a}", "ERROR", "late", "", client_id=client_a)
    report = run(conn, slack, T0 + timedelta(minutes=1), for_a, for_b, other_type)
    assert (report.silenced, report.sent) == (1, 2)
    assert len(slack.received) == 2
    row = alert_row(conn, for_a.key)
    assert (row["delivery_status"], row["send_count"], row["last_sent_at"]) == ("silenced", 0, None)
    [delivery] = deliveries(conn, for_a.key)
    assert (delivery["status"], delivery["silence_id"], delivery["channel"]) == ("silenced", silence.id, "none")
    # still failing once the silence is over: now it is said
    assert run(conn, slack, T0 + timedelta(hours=2, minutes=1), for_a, for_b, other_type).sent == 1
    assert len(slack.received) == 3


def test_a_silenced_incident_is_recorded_once_and_again_only_when_it_changes(
    conn: Connection, slack: FakeSlack
) -> None:
    """13 hours of 60 s ticks under a 30-day silence: one 'silenced' row, not 780; a new severity (the escalation
    after 12 h) or a new text is recorded once more, a moving figure is not."""
    create_silence(conn, duration=timedelta(days=30), now=T0, created_by="ops", alert_type="CHECK_FAILED")
    for minute in range(13 * 60):
        stuck = 150 + minute // 60  # the figure moves every hour: the same incident
        alert = replace(check_alert(severity="WARN"), title=f"{stuck} stuck leads", summary=f"{stuck} stuck leads")
        report = run(conn, slack, T0 + timedelta(minutes=minute), alert)
        assert report.silenced == 1
    kinds = [(d["kind"], d["severity"], d["status"]) for d in deliveries(conn, alert.key)]
    assert kinds == [("firing", "WARN", "silenced"), ("escalation", "ERROR", "silenced")]
    changed = replace(alert, summary="stuck leads and the sweep failed")
    run(conn, slack, T0 + timedelta(hours=13), changed)
    run(conn, slack, T0 + timedelta(hours=13, minutes=1), changed)
    assert len(deliveries(conn, alert.key)) == 3
    assert slack.received == []
    stats = conn.execute(text("SELECT count(*) FROM alert_deliveries WHERE status = 'silenced'")).scalar()
    conn.commit()
    assert stats == 3


def test_silence_of_everything(conn: Connection, slack: FakeSlack) -> None:
    create_silence(conn, duration=timedelta(minutes=30), now=T0, created_by="ops", reason="maintenance")
    report = run(conn, slack, T0 + timedelta(minutes=10), check_alert(), check_alert(key="x:1"))
    assert (report.silenced, len(slack.received)) == (2, 0)


def test_failed_delivery_is_recorded_and_retried_after_back_off(conn: Connection, slack: FakeSlack) -> None:
    alert = check_alert()
    slack.answer(500)
    report = run(conn, slack, T0, alert)
    assert (report.failed, report.sent) == (1, 0)
    row = alert_row(conn, alert.key)
    assert (row["delivery_status"], row["pending_kind"], row["attempt_count"]) == ("failed", "firing", 1)
    assert row["next_attempt_at"] == T0 + timedelta(seconds=60)
    assert row["last_error"] == "HTTP 500: internal_error"

    slack.answer(200)
    assert run(conn, slack, T0 + timedelta(seconds=30)).retried == 0  # not yet due
    assert len(slack.received) == 1
    report = run(conn, slack, T0 + timedelta(seconds=60))  # due: retried without a new observation
    assert (report.retried, report.sent) == (1, 1)
    assert len(slack.received) == 2
    row = alert_row(conn, alert.key)
    assert (row["delivery_status"], row["pending_kind"], row["next_attempt_at"], row["send_count"]) == (
        "sent",
        None,
        None,
        1,
    )
    assert [(d["status"], d["http_status"]) for d in deliveries(conn, alert.key)] == [("failed", 500), ("sent", 200)]


def test_back_off_grows_with_each_failure(conn: Connection, slack: FakeSlack) -> None:
    alert = check_alert()
    slack.answer(503)
    now = T0
    waits = []
    run(conn, slack, now, alert)
    for _ in range(6):
        due = alert_row(conn, alert.key)["next_attempt_at"]
        waits.append((due - now).total_seconds())
        now = due
        run(conn, slack, now)
    assert waits == [60, 120, 240, 480, 900, 900]


def test_429_retry_after_is_respected(conn: Connection, slack: FakeSlack) -> None:
    alert = check_alert()
    slack.answer(429, headers={"Retry-After": "300"})
    assert run(conn, slack, T0, alert).failed == 1
    assert alert_row(conn, alert.key)["next_attempt_at"] == T0 + timedelta(seconds=300)
    slack.answer(200)
    for seconds in (60, 120, 299):
        report = run(conn, slack, T0 + timedelta(seconds=seconds), alert)  # observed again, but must wait
        assert (report.deferred, report.sent) == (1, 0)
    assert len(slack.received) == 1
    assert run(conn, slack, T0 + timedelta(seconds=300), alert).sent == 1
    assert [d["http_status"] for d in deliveries(conn, alert.key)] == [429, 200]


def test_no_second_attempt_in_the_dispatch_after_a_failure(conn: Connection, slack: FakeSlack) -> None:
    slack.answer(500)
    report = run(conn, slack, T0, check_alert(key="a"), check_alert(key="b"), check_alert(key="c"))
    assert report.failed == 3
    assert len(slack.received) == 1  # Slack is not hammered
    errors = [alert_row(conn, k)["last_error"] for k in "abc"]
    assert errors.count("HTTP 500: internal_error") == 1
    assert errors.count("not attempted after an earlier failure: HTTP 500: internal_error") == 2
    # all three are owed and go out once Slack is back
    slack.answer(200)
    assert run(conn, slack, T0 + timedelta(minutes=1)).sent == 3


def test_a_slow_slack_cannot_make_a_dispatch_overrun(conn: Connection, slack: FakeSlack) -> None:
    """Past its delivery time budget a dispatch stops delivering; the rest is owed to the next one, none lost."""
    slack.answer(200, delay=0.3)
    settings = AlertSettings(delivery_budget_seconds=0.2)
    reports = [
        run(conn, slack, T0, check_alert(key="a"), check_alert(key="b"), check_alert(key="c"), settings=settings)
    ]
    assert (reports[0].sent, reports[0].deferred) == (1, 2)
    assert alert_row(conn, "c")["last_error"] == "not attempted: this dispatch's delivery time (0.2 s) ran out"
    reports += [run(conn, slack, T0 + timedelta(seconds=s), settings=settings) for s in (60, 120)]
    assert [(r.retried, r.sent) for r in reports[1:]] == [(2, 1), (1, 1)]
    assert len(slack.received) == 3
    assert [alert_row(conn, k)["send_count"] for k in "abc"] == [1, 1, 1]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (lambda s: SlackConfig(webhook_url=s.webhook_url, timeout_seconds=0.3), "timeout: no answer from Slack within"),
        (
            lambda s: SlackConfig(webhook_url="http://hooks.nonexistent.invalid/services/x", timeout_seconds=0.3),
            "cannot resolve Slack's host name",
        ),
        (lambda s: SlackConfig(webhook_url="http://127.0.0.1:9/services/x", timeout_seconds=0.3), "cannot reach Slack"),
    ],
    ids=["timeout", "dns", "refused"],
)
def test_transport_failures_are_caught_and_recorded(conn: Connection, slack: FakeSlack, config, expected) -> None:  # type: ignore[no-untyped-def]
    slack.answer(200, delay=1.0)
    report = dispatch(conn, firing=[check_alert()], now=T0, notifier=build_notifier(config(slack)))
    assert report.failed == 1
    row = alert_row(conn, check_alert().key)
    assert row["last_error"].startswith(expected), row["last_error"]
    assert row["pending_kind"] == "firing"


def test_a_group_becomes_one_message(conn: Connection, slack: FakeSlack) -> None:
    alerts = [
        Alert(
            "NO_RECENT_SUCCESS",
            f"no_recent_success:{name}",
            "ERROR",
            f"No success for {name}",
            "3 h",
            group="no_recent_success",
            group_title="{n} clients without a successful de-enrollment in 2 h",
        )
        for name in ("acme", "globex", "initech")
    ]
    report = run(conn, slack, T0, *alerts)
    assert (report.messages, report.sent) == (1, 3)
    assert slack.titles() == [":red_circle: [ERROR] 3 clients without a successful de-enrollment in 2 h"]
    listing = slack.received[0]["blocks"][1]["text"]["text"]
    assert listing.splitlines() == [
        "• *No success for acme* — 3 h",
        "• *No success for globex* — 3 h",
        "• *No success for initech* — 3 h",
    ]
    message_ids = {d["message_id"] for a in alerts for d in deliveries(conn, a.key)}
    assert len(message_ids) == 1


def test_two_ticks_at_once_send_once(engine: Engine, slack: FakeSlack) -> None:
    """Two dispatches of the same alert at the same moment (two connections): the row lock lets one send."""
    slack.answer(200, delay=0.3)  # the first holds the row lock while Slack is slow
    reports: list[DispatchReport] = []
    start = threading.Barrier(2)

    def tick() -> None:
        with engine.connect() as conn:
            start.wait()
            reports.append(run(conn, slack, T0, check_alert()))

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted((r.sent, r.suppressed) for r in reports) == [(0, 1), (1, 0)]
    assert len(slack.received) == 1


def test_one_bad_alert_does_not_stop_the_others(conn: Connection, slack: FakeSlack) -> None:
    # a caller's bug: a fact that is not text
    bad = Alert("CHECK_FAILED", "bad", "ERROR", "t", "s", facts=(("when", datetime(2026, 1, 1)),))  # type: ignore[arg-type]
    report = run(conn, slack, T0, bad, check_alert(key="good"))
    assert report.sent == 1 and len(report.errors) == 1
    assert report.errors[0].startswith("CHECK_FAILED bad: Object of type datetime is not JSON serializable")
    assert conn.execute(text("SELECT alert_key FROM alert_logs")).scalars().all() == ["good"]


def test_without_slack_the_log_is_the_fallback(conn: Connection, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    report = dispatch(conn, firing=[check_alert()], now=T0, notifier=LogNotifier())
    assert report.logged == 1
    assert "[ALERT] (no Slack configured; logged only)\n[ERROR] Check stuck_leads failed" in caplog.text
    row = alert_row(conn, check_alert().key)
    assert (row["delivery_status"], row["delivered_at"], row["send_count"]) == ("logged", T0, 1)
    # and it is de-duplicated like a sent one
    assert dispatch(conn, firing=[check_alert()], now=T0 + timedelta(hours=1), notifier=LogNotifier()).suppressed == 1


def test_bot_token_and_channel_through_chat_post_message(conn: Connection, slack: FakeSlack) -> None:
    config = SlackConfig(bot_token=BOT_TOKEN, channel="#ops-alerts", api_url=slack.api_url, timeout_seconds=1)
    notifier = build_notifier(config)
    assert dispatch(conn, firing=[check_alert()], now=T0, notifier=notifier).sent == 1
    assert slack.received[0]["channel"] == "#ops-alerts"
    assert slack.authorizations[0] == f"Bearer {BOT_TOKEN}"
    slack.answer(429, headers={"Retry-After": "42"})
    assert dispatch(conn, firing=[check_alert(key="k2")], now=T0, notifier=notifier).failed == 1
    row = alert_row(conn, "k2")
    assert (row["last_error"], row["next_attempt_at"]) == ("HTTP 429: ratelimited", T0 + timedelta(seconds=42))


def test_half_a_bot_configuration_is_one_clear_recorded_error(conn: Connection) -> None:
    notifier = build_notifier(SlackConfig(bot_token=BOT_TOKEN))
    assert dispatch(conn, firing=[check_alert()], now=T0, notifier=notifier).failed == 1
    assert alert_row(conn, check_alert().key)["last_error"] == (
        "Slack is misconfigured: nowhere: SLACK_BOT_TOKEN is set but SLACK_ALERT_CHANNEL is not"
    )


def test_mask_secrets() -> None:
    assert mask_secrets("posting to https://hooks.slack.com/services/T1/B2/abc failed") == (
        "posting to https://hooks.slack.com/*** failed"
    )
    assert mask_secrets("token xoxb-123-456-abc rejected") == "token xox*-*** rejected"
    assert mask_secrets("postgresql://ops:hunter2@db:5432/app down") == "postgresql://ops:***@db:5432/app down"
    assert mask_secrets("http://127.0.0.1:5/services/s3cr3tpath", ["http://127.0.0.1:5/services/s3cr3tpath"]) == "***"


def test_alert_validation() -> None:
    with pytest.raises(ValueError, match="unknown severity 'FATAL'"):
        Alert("CHECK_FAILED", "k", "FATAL", "t", "s")
    with pytest.raises(ValueError, match="upper case"):
        Alert("check_failed", "k", "ERROR", "t", "s")
    with pytest.raises(ValueError):
        Alert("CHECK_FAILED", "k", "ERROR", "t", "s", client_id="not-a-uuid")
