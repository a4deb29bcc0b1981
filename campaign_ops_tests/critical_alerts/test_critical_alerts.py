"""Seed 004's critical triggers through the alert pipeline: once per suppression window, aggregated, resolved,
silenced — driven by real sensor ticks against a real HTTP server playing Slack."""

from datetime import datetime, timedelta

import dagster as dg
import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from campaign_ops.alerts.defs import SlackAlertResource
from campaign_ops.cli import main
from campaign_ops.critical_alerts.defs import build_critical_alert_sensor
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.alerts.conftest import FakeClock, FakePagerDuty, FakeSlack, FakeTwilio, SensorDriver
from campaign_ops_tests.factories import add_client


def tick(instance, database: DatabaseResource, slack_alerts: SlackAlertResource, clock: FakeClock) -> None:
    sensor = build_critical_alert_sensor(clock=clock)
    context = dg.build_sensor_context(instance=instance, resources={"database": database, "slack_alerts": slack_alerts})
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)


def onboarding(conn: Connection, state: str, entered: datetime, *, paid: bool = True) -> str:
    client = add_client(conn)
    conn.execute(text("UPDATE clients SET payment_active = :p WHERE id = :c"), {"p": paid, "c": client})
    conn.execute(
        text("INSERT INTO onboarding_states (client_id, current_state, state_entered_at) VALUES (:c, :s, :t)"),
        {"c": client, "s": state, "t": entered},
    )
    return client


def add_number(conn: Connection, phone: str = "+15550109999") -> None:
    conn.execute(text("INSERT INTO twilio_number_pool (phone_e164, status) VALUES (:p, 'AVAILABLE')"), {"p": phone})


def fail_runs(conn: Connection, client: str, at: datetime, count: int, spacing_minutes: float) -> None:
    for i in range(count):
        conn.execute(
            text(
                "INSERT INTO de_enrollment_runs (client_id, status, run_at, error_details)"
                " VALUES (:c, 'failed', :t, 'boom')"
            ),
            {"c": client, "t": at - timedelta(minutes=spacing_minutes * i)},
        )


@pytest.fixture
def quiet(conn: Connection) -> None:
    """A healthy platform: a number in the pool, nothing stuck."""
    add_number(conn)
    conn.commit()


@pytest.fixture
def checks_env(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)


def run_job(instance: dg.DagsterInstance, job: str) -> None:
    from campaign_ops.definitions import defs

    assert defs.resolve_job_def(job).execute_in_process(instance=instance).success


def test_every_trigger_fires_once_per_window_and_aggregates(
    conn: Connection, instance, database, slack_alerts, slack: FakeSlack, clock: FakeClock, checks_env: None
) -> None:
    """Each condition once, under the hardening report's name, from its one detector: the critical sensor for the pool
    and
    repeated failures, the stuck onboarding and schema contract checks (their history in the UI) for the rest."""
    now = clock.now
    stuck = [onboarding(conn, "S9_TEST_CALL", now - timedelta(hours=25)) for _ in range(3)]
    blocked = onboarding(conn, "S5_CONFIRM_LIVE", now - timedelta(hours=2, minutes=1), paid=False)
    failing = add_client(conn)
    fail_runs(conn, failing, now - timedelta(minutes=1), 5, 3)  # 5 failures over 12 minutes
    conn.execute(text("DROP INDEX twilio_number_pool_status_idx"))  # the schema contract breaks
    conn.commit()  # and the pool is empty
    checks = SensorDriver(instance, database, slack_alerts, clock)

    def every_detector() -> None:
        run_job(instance, "stuck_onboarding_check_job")  # every 5 minutes (in alerting_checks_job)
        run_job(instance, "schema_contract_job")
        tick(instance, database, slack_alerts, clock)
        checks.tick("asset_check_alert_sensor")

    every_detector()
    titles = sorted(slack.titles())
    assert len(titles) == 5, titles  # not a CHECK_FAILED besides STUCK_CLIENT or INVARIANT_VIOLATION
    assert any("3 clients stuck in onboarding (terminal states)" in t for t in titles)
    assert any("blocked at S5_CONFIRM_LIVE without payment" in t for t in titles)
    assert any("No AVAILABLE number in the Twilio pool" in t for t in titles)
    assert any("5 de-enrollment passes in a row failed" in t for t in titles)
    assert any("[HIGH] Schema contract broken: 1 expected object(s) missing" in t for t in titles)
    keys = set(conn.execute(text("SELECT alert_key FROM alert_logs")).scalars())
    assert keys == {f"stuck_client:{c}" for c in stuck} | {
        f"payment_block:{blocked}",
        "pool_empty",
        f"repeated_failure:de_enrollment:{failing}",
        "invariant:schema_contract",
    }
    conn.commit()

    clock.advance(hours=1)
    every_detector()  # neither sensor ends what the other raised
    clock.advance(hours=4)
    every_detector()
    assert len(slack.received) == 5  # nothing again within the 6 h suppression window
    still_open = conn.execute(text("SELECT count(*) FROM alert_logs WHERE resolved_at IS NULL")).scalar()
    assert still_open == 7


def test_boundary_of_repeated_failure(
    conn: Connection, quiet, instance, database, slack_alerts, slack: FakeSlack, clock: FakeClock
) -> None:
    now = clock.now
    almost = add_client(conn)
    fail_runs(conn, almost, now - timedelta(minutes=1), 4, 3)  # 4 failures: not yet
    too_slow = add_client(conn)
    fail_runs(conn, too_slow, now - timedelta(minutes=1), 5, 31)  # 5 failures over 124 minutes: beyond the window
    conn.commit()
    tick(instance, database, slack_alerts, clock)
    assert slack.received == []

    clock.advance(minutes=1)
    fail_runs(conn, almost, now, 1, 0)
    conn.commit()
    tick(instance, database, slack_alerts, clock)
    assert slack.titles() == [f":red_circle: [HIGH] 5 de-enrollment passes in a row failed for client {almost}"]


def test_repeated_failure_fires_on_scheduled_passes_15_minutes_apart(
    conn: Connection, quiet, instance, database, slack_alerts, slack: FakeSlack, clock: FakeClock
) -> None:
    """The sweep runs every 15 minutes: a client failing on every pass is alerted after its 5th failed pass (they
    span an hour), not only when retries bunch 5 failures into 15 minutes."""
    every_pass = add_client(conn)
    fail_runs(conn, every_pass, clock.now - timedelta(minutes=1), 4, 15)
    conn.commit()
    tick(instance, database, slack_alerts, clock)
    assert slack.received == []  # 4 failed passes: not yet
    clock.advance(minutes=15)
    fail_runs(conn, every_pass, clock.now - timedelta(minutes=1), 1, 0)  # the 5th scheduled pass fails too
    conn.commit()
    tick(instance, database, slack_alerts, clock)
    assert slack.titles() == [f":red_circle: [HIGH] 5 de-enrollment passes in a row failed for client {every_pass}"]
    facts = str(slack.received[0]["blocks"])
    first = (clock.now - timedelta(minutes=1) - timedelta(minutes=60)).strftime("%Y-%m-%d %H:%M UTC")
    assert first in facts  # the first of the five, an hour before the last, in UTC


def test_resolved_once_the_condition_clears(
    conn: Connection, instance, database, slack_alerts, slack: FakeSlack, clock: FakeClock
) -> None:
    tick(instance, database, slack_alerts, clock)  # empty pool
    assert len(slack.received) == 1
    add_number(conn)
    conn.commit()
    clock.advance(minutes=5)
    tick(instance, database, slack_alerts, clock)
    assert len(slack.received) == 2
    assert "resolved" in slack.titles()[1].lower()
    row = conn.execute(text("SELECT resolved_at FROM alert_logs WHERE alert_key = 'pool_empty'")).scalar()
    assert row is not None


def test_silenced_critical_alert_is_recorded_not_sent(
    conn: Connection, db_env: str, instance, database, slack_alerts, slack: FakeSlack, clock: FakeClock
) -> None:
    result = CliRunner().invoke(
        main, ["alerts", "silence", "--for", "2h", "--type", "POOL_EMPTY", "--reason", "restock"]
    )
    assert result.exit_code == 0, result.output
    clock.advance(seconds=5)  # the silence starts at the database's now
    tick(instance, database, slack_alerts, clock)
    assert slack.received == []
    status = conn.execute(text("SELECT delivery_status FROM alert_logs WHERE alert_key = 'pool_empty'")).scalar()
    assert status == "silenced"


def test_critical_alerts_page_by_sms_and_pagerduty_in_real_ticks(
    conn: Connection,
    instance: dg.DagsterInstance,
    database: DatabaseResource,
    slack: FakeSlack,
    clock: FakeClock,
    twilio: FakeTwilio,
    pagerduty: FakePagerDuty,
    quiet: None,
) -> None:
    """Two clients whose last 5 passes failed: one Slack message and one SMS naming both, one PagerDuty incident
    each; the next tick (5 minutes on) sends nothing; a client that passes again is resolved on every channel."""
    from campaign_ops_tests.alerts.conftest import PAGERDUTY_KEY, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN

    paging = SlackAlertResource(
        webhook_url=slack.webhook_url,
        dagster_ui_url="http://ui.example:3000",
        timeout_seconds=1,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_number=TWILIO_FROM,
        admin_phone="+447700900123",
        twilio_api_url=twilio.api_url,
        pagerduty_routing_key=PAGERDUTY_KEY,
        pagerduty_api_url=pagerduty.api_url,
    )
    acme, globex = add_client(conn, name="Acme"), add_client(conn, name="Globex")
    for client in (acme, globex):
        fail_runs(conn, client, clock.now - timedelta(minutes=1), 5, 15)
    conn.commit()
    tick(instance, database, paging, clock)
    assert len(slack.received) == 1
    assert twilio.bodies() == [
        "[HIGH] 2x REPEATED_FAILURE: Acme, Globex http://ui.example:3000/assets/de_enrollment_runs"
    ]
    assert sorted(pagerduty.actions()) == sorted(
        ("trigger", f"repeated_failure:de_enrollment:{c}") for c in (acme, globex)
    )
    clock.advance(minutes=5)
    tick(instance, database, paging, clock)
    assert (len(slack.received), len(twilio.received), len(pagerduty.received)) == (1, 1, 2)
    conn.execute(
        text("INSERT INTO de_enrollment_runs (client_id, status, run_at) VALUES (:c, 'success', :t)"),
        {"c": acme, "t": clock.now - timedelta(seconds=30)},
    )
    conn.commit()
    clock.advance(minutes=5)
    tick(instance, database, paging, clock)
    assert twilio.bodies()[-1].startswith("[RESOLVED] REPEATED_FAILURE Acme: ")
    assert pagerduty.actions()[-1] == ("resolve", f"repeated_failure:de_enrollment:{acme}")
