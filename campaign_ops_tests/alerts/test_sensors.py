"""The alert sensors through real ticks: real failed runs and real check evaluations on a Dagster instance, a real
PostgreSQL database, and a real HTTP server playing Slack. Time is the injected clock of the sensors."""

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from bench.sensor_ticks import record_check_sensor_tick
from campaign_ops.alerts import events as alert_events
from campaign_ops.alerts.defs import SlackAlertResource
from campaign_ops.cli import main
from campaign_ops.clients.partition_keys import partition_key
from campaign_ops.clients.partitions import clients_partitions
from campaign_ops.clients.tags import RANGE_END_TAG, RANGE_START_TAG
from campaign_ops.definitions import defs as definitions
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.alerts.conftest import (
    BOT_TOKEN,
    UI_URL,
    WEBHOOK_SECRET,
    FakeClock,
    FakeSlack,
    SensorDriver,
    alert_row,
    deliveries,
)
from campaign_ops_tests.factories import add_campaign, add_client

RUNS = "run_status_alert_sensor"
CHECKS = "asset_check_alert_sensor"

# --- a stand-in for the de-enrollment job: records client passes like the real one, then fails if told to -----


class PassesConfig(dg.Config):
    statuses: dict[str, str]
    error: str


@dg.op
def de_enroll_clients(context: dg.OpExecutionContext, config: PassesConfig, database: DatabaseResource) -> None:
    with database.connect() as conn:
        for client_id, status in config.statuses.items():
            conn.execute(
                text(
                    "INSERT INTO de_enrollment_runs (client_id, status, dagster_run_id, error_details, finished_at)"
                    " VALUES (:c, :s, :r, :e, now())"
                ),
                {"c": client_id, "s": status, "r": context.run_id, "e": "lock timeout" if status == "failed" else None},
            )
        conn.commit()
    if config.error:
        raise RuntimeError(config.error)


@dg.job(name="de_enrollment_job")
def de_enrollment_job() -> None:
    de_enroll_clients()


def launch(
    instance: dg.DagsterInstance,
    database: DatabaseResource,
    *,
    error: str = "",
    statuses: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    result = de_enrollment_job.execute_in_process(
        instance=instance,
        run_config={"ops": {"de_enroll_clients": {"config": {"statuses": statuses or {}, "error": error}}}},
        resources={"database": database},
        tags=tags or {},
        raise_on_error=False,
    )
    assert result.success is not bool(error)
    return result.run_id


def sweep_tags(first: str, last: str) -> dict[str, str]:
    return {RANGE_START_TAG: first, RANGE_END_TAG: last, "campaign_ops/sweep": "all_clients"}


# --- a stand-in for a per-client check, stats_drift (same asset key and check name); its figures are made up ------


class StuckConfig(dg.Config):
    stuck: int


@dg.asset(key="campaigns", partitions_def=clients_partitions)
def leads_by_client() -> None:
    return None


@dg.asset_check(asset="campaigns", name="stats_drift", partitions_def=clients_partitions)
def stuck_leads_by_client(config: StuckConfig) -> dg.AssetCheckResult:
    return _stuck_result(config.stuck)


@dg.asset(key="campaigns")
def leads_all_clients() -> None:
    return None


@dg.asset_check(asset="campaigns", name="stats_drift")
def stuck_leads_all_clients(config: StuckConfig) -> dg.AssetCheckResult:
    return _stuck_result(config.stuck)


def _stuck_result(stuck: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=stuck <= 100,
        severity=dg.AssetCheckSeverity.ERROR if stuck > 500 else dg.AssetCheckSeverity.WARN,
        metadata={
            "stuck_leads": stuck,
            "error_line": 500,
            "share": 0.125,
            "sample": dg.MetadataValue.md("| id | position |\n|---|---|\n| x | 3 |"),
        },
    )


def evaluate_check(instance: dg.DagsterInstance, stuck: int, client_id: str | None = None) -> None:
    if client_id:
        instance.add_dynamic_partitions("clients", [client_id])
        assets: list[Any] = [leads_by_client, stuck_leads_by_client]
    else:
        assets = [leads_all_clients, stuck_leads_all_clients]
    result = dg.materialize(
        assets,
        instance=instance,
        partition_key=client_id,
        run_config={"ops": {"campaigns_stats_drift": {"config": {"stuck": stuck}}}},
    )
    assert result.success


@pytest.fixture
def acme(conn: Connection) -> str:
    client_id = add_client(conn, name="Acme Dental")
    conn.commit()
    return client_id


# --- failed and partial runs ----------------------------------------------------------------------------------


def test_failed_run_is_alerted_once_with_job_client_error_and_link(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, acme: str
) -> None:
    run_id = launch(
        driver.instance,
        driver.database,
        error="connection to postgresql://ops:hunter2@db:5432/app lost",
        tags={"dagster/partition": acme},
    )
    result = driver.tick(RUNS)
    assert "alerts: 1 firing, 1 message(s), 1 sent" in str(result.skip_reason)
    assert slack.titles() == [f":red_circle: [ERROR] de_enrollment_job failed (client {acme})"]
    blocks = slack.received[0]["blocks"]
    assert blocks[1]["text"]["text"] == "RuntimeError: connection to postgresql://ops:***@db:5432/app lost"
    facts = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in blocks[2]["fields"]}
    assert facts["*Job*"] == "de_enrollment_job" and facts["*Run*"] == run_id
    assert facts["*Scope*"] == f"client {acme}"
    assert blocks[3]["text"]["text"] == f"<{UI_URL}/runs/{run_id}|Open the run in Dagster>"

    driver.tick(RUNS)  # the same run is never considered twice
    launch(driver.instance, driver.database, error="again", tags={"dagster/partition": acme})
    driver.clock.advance(minutes=15)
    assert "1 suppressed" in str(driver.tick(RUNS).skip_reason)  # same job and client within 6 h
    assert len(slack.received) == 1
    row = alert_row(conn, f"run_failed:de_enrollment_job:{acme}")
    assert (row["seen_count"], row["send_count"], row["resource_id"], row["severity"]) == (2, 1, acme, "ERROR")

    # a later success of the same job for the same client resolves it, once
    launch(driver.instance, driver.database, tags={"dagster/partition": acme})
    driver.clock.advance(minutes=15)
    driver.tick(RUNS)
    assert slack.titles()[-1] == f":white_check_mark: [RESOLVED] de_enrollment_job failed (client {acme})"
    assert len(slack.received) == 2
    assert alert_row(conn, f"run_failed:de_enrollment_job:{acme}")["resolved_at"] == driver.clock.now


def test_sweep_failure_alerts_each_failed_client_and_each_partial_one(
    driver: SensorDriver, slack: FakeSlack, conn: Connection
) -> None:
    a, b = add_client(conn, name="Acme Dental"), add_client(conn, name="Bright Smiles")
    conn.commit()
    first, last = sorted([a, b])
    tags = sweep_tags(first, last)
    launch(
        driver.instance,
        driver.database,
        error="1 of 2 clients failed",
        statuses={a: "failed", b: "success"},
        tags=tags,
    )
    driver.tick(RUNS)
    assert slack.titles() == [":red_circle: [ERROR] de_enrollment_job failed for Acme Dental"]
    assert "lock timeout" in str(slack.received[0]["blocks"])
    assert alert_row(conn, f"run_failed:de_enrollment_job:{a}")["resource_id"] == a

    # the next sweep succeeds for a, but b is left partial: a's failure is resolved and b's partial pass alerted
    driver.clock.advance(minutes=15)
    launch(driver.instance, driver.database, statuses={a: "success", b: "partial"}, tags=tags)
    driver.tick(RUNS)
    assert sorted(slack.titles()[1:]) == [
        ":large_orange_circle: [WARN] de_enrollment_job left Bright Smiles partial",
        ":white_check_mark: [RESOLVED] de_enrollment_job failed for Acme Dental",
    ]

    # a clean sweep resolves the partial alert
    driver.clock.advance(minutes=15)
    launch(driver.instance, driver.database, statuses={a: "success", b: "success"}, tags=tags)
    driver.tick(RUNS)
    assert slack.titles()[-1] == ":white_check_mark: [RESOLVED] de_enrollment_job left Bright Smiles partial"
    assert len(slack.received) == 4


def test_a_failing_client_is_alerted_although_the_next_runs_succeed_without_it(
    driver: SensorDriver, slack: FakeSlack, conn: Connection
) -> None:
    """Due runs every few seconds: a client's failure is not ended by the success of runs that skipped it or did
    not cover it, even when the sensor sees them all in one tick; only that client's own success ends it."""
    failing, other = add_client(conn, name="Demo Client 777"), add_client(conn, name="Demo Client 001")
    conn.commit()
    due = {"campaign_ops/sweep": "due_clients"}
    launch(
        driver.instance,
        driver.database,
        error="de-enrollment failed for 1 of 2 client(s): Demo Client 777",
        statuses={failing: "failed", other: "success"},
        tags=due,
    )
    launch(driver.instance, driver.database, statuses={failing: "skipped", other: "success"}, tags=due)
    launch(driver.instance, driver.database, statuses={other: "success"}, tags=due)
    assert "3 run event(s); alerts: 1 firing" in str(driver.tick(RUNS).skip_reason)
    assert slack.titles() == [":red_circle: [ERROR] de_enrollment_job failed for Demo Client 777"]
    row = alert_row(conn, f"run_failed:de_enrollment_job:{failing}")
    assert row["resolved_at"] is None and row["resource_id"] == failing

    driver.clock.advance(minutes=1)
    launch(driver.instance, driver.database, statuses={other: "success"}, tags=due)
    driver.tick(RUNS)
    assert alert_row(conn, f"run_failed:de_enrollment_job:{failing}")["resolved_at"] is None
    driver.clock.advance(minutes=1)
    launch(driver.instance, driver.database, statuses={failing: "success"}, tags=due)
    driver.tick(RUNS)
    assert slack.titles()[-1] == ":white_check_mark: [RESOLVED] de_enrollment_job failed for Demo Client 777"
    assert alert_row(conn, f"run_failed:de_enrollment_job:{failing}")["resolved_at"] == driver.clock.now


@dg.op
def fail_with_a_sentence() -> None:
    raise dg.Failure(description="reconciliation failed for 1 of 8 client(s): Demo Client 777 (lock timeout)")


@dg.job(name="stats_reconciliation_job")
def failing_with_a_sentence() -> None:
    fail_with_a_sentence()


def test_a_failure_the_project_words_reaches_on_call_without_dagsters_class_path(
    driver: SensorDriver, slack: FakeSlack
) -> None:
    assert not failing_with_a_sentence.execute_in_process(instance=driver.instance, raise_on_error=False).success
    driver.tick(RUNS)
    summary = slack.received[0]["blocks"][1]["text"]["text"]
    assert summary == "reconciliation failed for 1 of 8 client(s): Demo Client 777 (lock timeout)"


def test_a_reconciliation_over_a_range_that_failed_for_a_busy_client_names_it_and_of_how_many(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, db_env: str
) -> None:
    """Reconciling a range of clients from the UI (no sweep tag): the alert's scope is the failing client by name,
    of how many clients, never the first and last partition keys."""
    busy, free = add_client(conn, name="Demo Client 777"), add_client(conn, name="Demo Client 001")
    for client in (busy, free):
        add_campaign(conn, client, messages=3)
    conn.commit()
    keys = sorted(partition_key(c, n) for c, n in ((busy, "Demo Client 777"), (free, "Demo Client 001")))
    driver.instance.add_dynamic_partitions("clients", keys)
    with conn.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": busy})
        holder.commit()
        result = definitions.resolve_job_def("stats_reconciliation_job").execute_in_process(
            instance=driver.instance,
            tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
            run_config={"ops": {"reconcile_campaign_stats": {"config": {"lock_timeout_seconds": 0.5}}}},
            raise_on_error=False,
        )
        holder.execute(text("SELECT pg_advisory_unlock_all()"))
        holder.commit()
    assert not result.success
    driver.tick(RUNS)
    assert slack.titles() == [":red_circle: [ERROR] stats_reconciliation_job failed (Demo Client 777: 1 of 2 clients)"]
    blocks = slack.received[0]["blocks"]
    assert blocks[1]["text"]["text"].startswith("stats reconciliation failed for 1 of 2 client(s): Demo Client 777 (")
    facts = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in blocks[2]["fields"]}
    assert facts["*Scope*"] == "Demo Client 777: 1 of 2 clients"


def test_first_tick_looks_back_one_hour_only(driver: SensorDriver, slack: FakeSlack) -> None:
    launch(driver.instance, driver.database, error="before the sensor was switched on")
    two_hours_later = FakeClock(driver.clock.now + timedelta(hours=2))
    late = SensorDriver(driver.instance, driver.database, driver.slack_alerts, two_hours_later)
    assert str(late.tick(RUNS).skip_reason).startswith("SkipReason(skip_message='0 run event(s)")
    assert slack.received == []
    half_an_hour_later = FakeClock(driver.clock.now + timedelta(minutes=30))
    early = SensorDriver(driver.instance, driver.database, driver.slack_alerts, half_an_hour_later)
    assert str(early.tick(RUNS).skip_reason).startswith("SkipReason(skip_message='1 run event(s)")
    assert slack.received[0]["blocks"][1]["text"]["text"] == "RuntimeError: before the sensor was switched on"


def test_restarted_sensor_misses_nothing(driver: SensorDriver, slack: FakeSlack, conn: Connection, acme: str) -> None:
    """The cursor is all the state between ticks: failures while the daemon was down are alerted after it."""
    driver.tick(RUNS)
    saved = driver.cursors[RUNS]
    launch(driver.instance, driver.database, error="while down", tags={"dagster/partition": acme})
    launch(driver.instance, driver.database, error="while down", tags={"dagster/partition": str(uuid.uuid4())})
    driver.clock.advance(hours=3)  # longer than the first-tick look-back: the cursor, not time, decides
    restarted = SensorDriver(driver.instance, driver.database, driver.slack_alerts, driver.clock, {RUNS: saved})
    restarted.tick(RUNS)
    # both failures, in one message (alerts of one job in one tick are aggregated), each recorded on its own
    assert slack.titles() == [":red_circle: [ERROR] 2 runs of de_enrollment_job failed"]
    assert str(slack.received[0]["blocks"][1]["text"]["text"]).count("RuntimeError: while down") == 2
    sent = conn.execute(text("SELECT count(*) FROM alert_logs WHERE delivery_status = 'sent'")).scalar()
    assert sent == 2


# --- asset checks -----------------------------------------------------------------------------------------------


def test_failed_check_alert_with_figures_and_link_then_one_resolved_message(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, acme: str
) -> None:
    evaluate_check(driver.instance, 612, acme)
    driver.tick(CHECKS)
    assert slack.titles() == [f":red_circle: [ERROR] Check stats_drift failed (Acme Dental ({acme}))"]
    blocks = slack.received[0]["blocks"]
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert fields == [  # numeric metadata (Dagster keeps it sorted by name); the markdown table stays in the UI
        "*Check*\ncampaigns · stats_drift",
        f"*Where*\nAcme Dental ({acme})",
        "*error_line*\n500",
        "*share*\n0.12",
        "*stuck_leads*\n612",
        f"*Run*\n{fields[-1].split(chr(10))[1]}",
    ]
    assert (
        blocks[3]["text"]["text"]
        == f"<{UI_URL}/assets/campaigns?view=checks&checkDetail=stats_drift|Open the check in Dagster>"
    )
    key = f"check_failed:stats_drift:{acme}"
    assert alert_row(conn, key)["resource_id"] == acme

    driver.tick(CHECKS)  # nothing new: nothing sent
    driver.clock.advance(hours=1)
    evaluate_check(driver.instance, 640, acme)  # still failing an hour later: within the window
    driver.tick(CHECKS)
    assert len(slack.received) == 1

    driver.clock.advance(hours=1)
    evaluate_check(driver.instance, 12, acme)
    driver.tick(CHECKS)
    assert slack.titles()[-1] == f":white_check_mark: [RESOLVED] Check stats_drift failed (Acme Dental ({acme}))"
    evaluate_check(driver.instance, 10, acme)
    driver.tick(CHECKS)
    assert len(slack.received) == 2
    assert [d["kind"] for d in deliveries(conn, key)] == ["firing", "resolved"]


def test_warn_check_still_failing_after_12h_is_escalated_once(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, acme: str
) -> None:
    evaluate_check(driver.instance, 150, acme)  # above the WARN line
    driver.tick(CHECKS)
    for _ in range(14):  # evaluated hourly, still failing
        driver.clock.advance(hours=1)
        evaluate_check(driver.instance, 150, acme)
        driver.tick(CHECKS)
    kinds = [(d["kind"], d["severity"]) for d in deliveries(conn, f"check_failed:stats_drift:{acme}")]
    assert kinds == [("firing", "WARN"), ("reminder", "WARN"), ("escalation", "ERROR")]
    assert slack.titles()[2] == f":red_circle: [ESCALATED → ERROR] Check stats_drift failed (Acme Dental ({acme}))"


def test_an_all_clients_pass_resolves_every_client_of_that_check(
    driver: SensorDriver, slack: FakeSlack, conn: Connection
) -> None:
    a, b = add_client(conn, name="Acme Dental"), add_client(conn, name="Bright Smiles")
    conn.commit()
    evaluate_check(driver.instance, 700, a)
    evaluate_check(driver.instance, 800, b)
    driver.tick(CHECKS)
    assert slack.titles() == [":red_circle: [ERROR] Check stats_drift failed for 2 clients"]  # one message
    evaluate_check(driver.instance, 0)  # the check over all clients passes
    driver.tick(CHECKS)
    assert slack.titles()[-1] == ":white_check_mark: [RESOLVED] Check stats_drift failed for 2 clients"
    assert len(slack.received) == 2
    for client_id in (a, b):
        assert alert_row(conn, f"check_failed:stats_drift:{client_id}")["resolved_at"] == driver.clock.now


def evaluate_check_over_range(instance: dg.DagsterInstance, stuck: int, first: str, last: str) -> None:
    """One run over a range of client partitions: Dagster records ONE evaluation, with no partition."""
    result = dg.materialize(
        [leads_by_client, stuck_leads_by_client],
        instance=instance,
        tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
        run_config={"ops": {"campaigns_stats_drift": {"config": {"stuck": stuck}}}},
    )
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.partition is None


def test_a_range_pass_resolves_only_the_clients_the_range_covered(
    driver: SensorDriver, slack: FakeSlack, conn: Connection
) -> None:
    a, b, c = (add_client(conn, name=n) for n in ("Acme Dental", "Bright Smiles", "Cedar Clinic"))
    conn.commit()
    driver.instance.add_dynamic_partitions("clients", [a, b, c])
    evaluate_check(driver.instance, 700, a)
    evaluate_check(driver.instance, 800, c)
    driver.tick(CHECKS)
    assert slack.titles() == [":red_circle: [ERROR] Check stats_drift failed for 2 clients"]
    evaluate_check_over_range(driver.instance, 0, a, b)  # a and b pass; c was not evaluated
    driver.tick(CHECKS)
    assert slack.titles()[-1] == f":white_check_mark: [RESOLVED] Check stats_drift failed (Acme Dental ({a}))"
    assert alert_row(conn, f"check_failed:stats_drift:{a}")["resolved_at"] == driver.clock.now
    assert alert_row(conn, f"check_failed:stats_drift:{c}")["resolved_at"] is None  # still failing, still open
    evaluate_check_over_range(driver.instance, 0, b, c)
    driver.tick(CHECKS)
    assert alert_row(conn, f"check_failed:stats_drift:{c}")["resolved_at"] == driver.clock.now
    assert len(slack.received) == 3
    # a range that fails is named as the range it was, not "all clients"; only a pass over every client ends it
    evaluate_check_over_range(driver.instance, 700, a, b)
    driver.tick(CHECKS)
    assert slack.titles()[-1] == ":red_circle: [ERROR] Check stats_drift failed (a range of 2 clients)"
    evaluate_check_over_range(driver.instance, 0, b, c)
    driver.tick(CHECKS)
    assert alert_row(conn, "check_failed:stats_drift:all")["resolved_at"] is None
    evaluate_check_over_range(driver.instance, 0, a, c)  # the range of every client
    driver.tick(CHECKS)
    assert alert_row(conn, "check_failed:stats_drift:all")["resolved_at"] == driver.clock.now
    assert len(slack.received) == 5


def test_first_check_tick_starts_from_the_look_back_not_the_whole_event_log(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, acme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long history of evaluations older than the look-back (more than one batch of them) is not paged through:
    the first tick starts at the first evaluation inside the look-back and alerts a new failure at once."""
    monkeypatch.setattr(alert_events, "EVENT_BATCH", 10)  # a small batch: a short history is already long
    for _ in range(3 * alert_events.EVENT_BATCH + 5):
        driver.instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(asset_key=dg.AssetKey("campaigns"), check_name="stats_drift", passed=True)
        )
    history = driver.instance.event_log_storage.get_maximum_record_id()
    assert history is not None
    time.sleep(0.05)
    evaluate_check(driver.instance, 612, acme)
    storage = driver.instance.event_log_storage
    new = storage.get_logs_for_all_runs_by_log_id(
        after_cursor=history, dagster_event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )
    # the sensor starts now, its look-back reaching just after the history: the history is older than the look-back
    last_old = storage.get_logs_for_all_runs_by_log_id(after_cursor=history - 1)[history]
    started = (last_old.timestamp + min(e.timestamp for e in new.values())) / 2
    clock = FakeClock(datetime.fromtimestamp(started, UTC) + alert_events.FIRST_TICK_LOOKBACK)
    first = SensorDriver(driver.instance, driver.database, driver.slack_alerts, clock)
    assert str(first.tick(CHECKS).skip_reason).startswith("SkipReason(skip_message='1 check evaluation(s)")
    assert slack.titles() == [f":red_circle: [ERROR] Check stats_drift failed (Acme Dental ({acme}))"]
    # after a cursor reset with nothing inside the look-back, the next tick looks again from the same moment
    late = SensorDriver(
        driver.instance, driver.database, driver.slack_alerts, FakeClock(clock.now + timedelta(hours=3))
    )
    assert str(late.tick(CHECKS).skip_reason).startswith("SkipReason(skip_message='0 check evaluation(s)")
    assert json.loads(late.cursors[CHECKS])["after"] == {}


# --- the SOP's health lines: the checks detect them (every 5 minutes), the check sensor alerts --------------


@pytest.fixture
def checks_env(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    """The code location's resources on the test database, its links on the test UI."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DAGSTER_UI_URL", UI_URL)


def run_checks(
    instance: dg.DagsterInstance,
    job: str = "alerting_checks_job",
    *,
    config: dict[str, dict[str, Any]] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """A real run of the code location's check job (as its schedule or sensor launches it); `config` by check op."""
    from campaign_ops.definitions import defs

    run_config = {"ops": {op: {"config": c} for op, c in (config or {}).items()}}
    result = defs.resolve_job_def(job).execute_in_process(instance=instance, run_config=run_config, tags=tags or {})
    assert result.success


def tick_checks_sensor(instance: dg.DagsterInstance, sensor: str = "alerting_checks_sensor") -> None:
    """A tick of the code location's check sensor (the 5-minute detectors): its evaluations recorded in the
    instance without a run, as the daemon records them."""
    from campaign_ops.definitions import defs

    record_check_sensor_tick(defs.resolve_sensor_def(sensor), instance, defs.resources["database"])


def add_stuck_leads(conn: Connection, client_id: str, campaign_id: str, count: int) -> None:
    conn.execute(
        text(
            "INSERT INTO leads (id, client_id, campaign_link_id, first_name, last_name, current_message_position,"
            " is_active, opted_out, booked_meeting, enrolled_at)"
            " SELECT gen_random_uuid(), :c, :k, 'Stuck', 'Lead', 3, true, false, false, now() - interval '10 days'"
            " FROM generate_series(1, :n)"
        ),
        {"c": client_id, "k": campaign_id, "n": count},
    )
    conn.commit()


def open_keys(conn: Connection) -> set[tuple[str, str]]:
    rows = conn.execute(
        text("SELECT alert_type, alert_key FROM alert_logs WHERE active_since IS NOT NULL AND resolved_at IS NULL")
    ).all()
    conn.commit()
    return {(r[0], r[1]) for r in rows}


def test_health_breaches_alert_and_resolve(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, checks_env: None
) -> None:
    late = add_client(conn, name="Late Dental")
    busy = add_client(conn, name="Busy Smiles")
    conn.execute(text("UPDATE clients SET created_at = now() - interval '3 hours'"))
    conn.execute(
        text("INSERT INTO de_enrollment_runs (client_id, status, run_at) VALUES (:c, 'success', now() - :age)"),
        {"c": busy, "age": timedelta(hours=1)},
    )
    campaign = add_campaign(conn, busy, messages=3)
    conn.commit()
    add_stuck_leads(conn, busy, campaign, 500)  # above the WARN line, exactly on the ERROR line: not above it

    tick_checks_sensor(driver.instance)
    driver.tick(CHECKS)
    titles = sorted(slack.titles())
    assert titles[0] == ":large_orange_circle: [WARN] 500 stuck leads (WARN line 100)"
    assert titles[1].startswith(":red_circle: [ERROR] No successful de-enrollment for Late Dental in 3")
    assert len(titles) == 2  # the passing schema contract and Busy Smiles' health say nothing
    # evaluated without a run: the alerts say so where a run id would be, and scope every active client
    for message in slack.received:
        fields = [f["text"].split("\n") for block in message["blocks"] for f in block.get("fields", [])]
        assert ["*Run*", "none (evaluated by a check sensor)"] in fields, fields

    add_stuck_leads(conn, busy, campaign, 1)
    driver.clock.advance(minutes=5)
    tick_checks_sensor(driver.instance)
    driver.tick(CHECKS)
    # past the ERROR line while the WARN is open: said at once, though within the suppression window
    assert slack.titles()[2] == ":red_circle: [ERROR] 501 stuck leads (ERROR line 500)"
    assert "Busy Smiles: 501" in str(slack.received[2]["blocks"])
    assert "Worse: WARN → ERROR" in str(slack.received[2]["blocks"])
    driver.clock.advance(minutes=5)
    tick_checks_sensor(driver.instance)
    driver.tick(CHECKS)
    assert len(slack.received) == 3  # both still breached: nothing repeated

    conn.execute(text("INSERT INTO de_enrollment_runs (client_id, status) VALUES (:c, 'success')"), {"c": late})
    conn.execute(text("UPDATE leads SET is_active = false, completed_at = now() WHERE client_id = :c"), {"c": busy})
    conn.commit()
    driver.clock.advance(minutes=5)
    tick_checks_sensor(driver.instance)
    driver.tick(CHECKS)
    resolved = sorted(slack.titles()[3:])
    assert resolved[0] == ":white_check_mark: [RESOLVED] 501 stuck leads (ERROR line 500)"
    assert resolved[1].startswith(":white_check_mark: [RESOLVED] No successful de-enrollment for Late Dental in 3")
    assert len(resolved) == 2 and open_keys(conn) == set()


def test_the_5_minute_sensor_detects_stuck_onboarding_clients_and_the_check_sensor_alerts(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, checks_env: None
) -> None:
    """The onboarding check is one of the 5-minute detectors: the alerting checks' sensor evaluates it without a run,
    and the check sensor raises its PAYMENT_BLOCK from that evaluation."""
    unpaid = add_client(conn, name="Unpaid Dental")
    conn.execute(text("UPDATE clients SET payment_active = false WHERE id = :c"), {"c": unpaid})
    conn.execute(
        text(
            "INSERT INTO onboarding_states (client_id, current_state, state_entered_at)"
            " VALUES (:c, 'S5_CONFIRM_LIVE', now() - interval '3 hours')"
        ),
        {"c": unpaid},
    )
    conn.commit()
    tick_checks_sensor(driver.instance)
    driver.tick(CHECKS)
    assert [t for t in slack.titles() if "S5_CONFIRM_LIVE without payment" in t], slack.titles()
    assert ("PAYMENT_BLOCK", f"payment_block:{unpaid}") in open_keys(conn)


def test_one_fact_is_one_message_whichever_check_run_says_it(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, checks_env: None
) -> None:
    """600 stuck leads are one STUCK_LEADS alert: not a CHECK_FAILED besides it, not again from the hourly
    integrity checks or a one-client evaluation after that client's de-enrollment, and no second detector."""
    from campaign_ops_tests.checks.helpers import refresh_counters

    busy = add_client(conn, name="Busy Smiles")
    conn.execute(
        text("INSERT INTO de_enrollment_runs (client_id, status) VALUES (:c, 'success')"), {"c": busy}
    )  # healthy otherwise
    campaign = add_campaign(conn, busy, messages=3)
    conn.commit()
    add_stuck_leads(conn, busy, campaign, 600)
    refresh_counters(conn)  # the campaign's counters agree with its leads: stuck leads are the one fact
    conn.commit()
    run_checks(driver.instance)  # the 5-minute detectors
    run_checks(driver.instance, "integrity_checks_job")  # the hourly integrity checks count them too
    run_checks(driver.instance, "integrity_checks_job", tags={"campaign_ops/client": busy})  # after its pass
    driver.tick(CHECKS)
    assert slack.titles() == [":red_circle: [ERROR] 600 stuck leads (ERROR line 500)"]
    assert open_keys(conn) == {("STUCK_LEADS", "stuck_leads:all")}
    # the detectors are the checks: no sensor of the code location reads the health tables itself
    from campaign_ops.definitions import defs

    sensors = {s.name for s in defs.sensors or ()}
    assert "health_alert_sensor" not in sensors and {CHECKS, RUNS, "critical_alert_sensor"} <= sensors


def test_the_checks_thresholds_are_the_alerts(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, checks_env: None
) -> None:
    """A line changed in the check's config changes the alert: the alert says the line the evaluation judged by."""
    busy = add_client(conn, name="Busy Smiles")
    conn.execute(text("INSERT INTO de_enrollment_runs (client_id, status) VALUES (:c, 'success')"), {"c": busy})
    campaign = add_campaign(conn, busy, messages=3)
    conn.commit()
    add_stuck_leads(conn, busy, campaign, 60)
    run_checks(driver.instance)  # 60 is below the SOP's lines
    driver.tick(CHECKS)
    assert slack.received == []
    run_checks(driver.instance, config={"leads_stuck_leads": {"warn_above": 10, "error_above": 50}})
    driver.tick(CHECKS)
    assert slack.titles() == [":red_circle: [ERROR] 60 stuck leads (ERROR line 50)"]
    assert "above 50 it is an ERROR" not in str(slack.received[0])  # the ERROR text, not the WARN one
    driver.clock.advance(minutes=5)
    run_checks(driver.instance)  # back to the default lines: 60 passes, the alert ends
    driver.tick(CHECKS)
    assert slack.titles()[-1] == ":white_check_mark: [RESOLVED] 60 stuck leads (ERROR line 50)"

    # the hours-since-success line too
    late = add_client(conn, name="Late Dental")
    conn.execute(text("UPDATE clients SET created_at = now() - interval '90 minutes' WHERE id = :c"), {"c": late})
    conn.commit()
    driver.clock.advance(minutes=5)
    run_checks(driver.instance)
    driver.tick(CHECKS)
    assert len(slack.received) == 2  # 1.5 h: within the SOP's 2 h
    health = "de_enrollment_runs_de_enrollment_health"
    run_checks(driver.instance, config={health: {"hours_since_success_error_above": 1.0}})
    driver.tick(CHECKS)
    assert slack.titles()[-1].startswith(":red_circle: [ERROR] No successful de-enrollment for Late Dental in 1.5")
    assert "(limit 1)" in str(slack.received[-1]["blocks"])


def test_several_clients_without_success_are_one_message(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, checks_env: None
) -> None:
    for name in ("Acme Dental", "Bright Smiles", "Calm Clinic"):
        add_client(conn, name=name)
    conn.execute(text("UPDATE clients SET created_at = now() - interval '5 hours'"))
    conn.commit()
    run_checks(driver.instance)
    result = driver.tick(CHECKS)
    assert "3 firing, 1 message(s), 3 sent" in str(result.skip_reason)
    assert slack.titles() == [":red_circle: [ERROR] 3 clients without a successful de-enrollment in 2 h"]


def test_per_client_findings_are_per_client_alerts_and_a_pass_ends_only_what_it_covered(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, checks_env: None
) -> None:
    """An evaluation over every client raises one alert per client it found (one message), and ends the alerts
    of the clients it no longer finds; a run that asks about one client judges every client too."""
    from campaign_ops_tests.checks.helpers import refresh_counters

    a, b = add_client(conn, name="Acme Dental"), add_client(conn, name="Bright Smiles")
    campaigns = {c: add_campaign(conn, c, messages=3) for c in (a, b)}
    refresh_counters(conn)
    conn.execute(text("UPDATE campaigns SET completed_leads_count = 50"))
    conn.commit()
    run_checks(driver.instance, "integrity_checks_job")
    driver.tick(CHECKS)
    assert slack.titles() == [":red_circle: [ERROR] Check stats_drift failed for 2 clients"]  # off by 50
    assert {k for _, k in open_keys(conn)} == {f"check_failed:stats_drift:{a}", f"check_failed:stats_drift:{b}"}

    conn.execute(text("UPDATE campaigns SET completed_leads_count = 0 WHERE id = :c"), {"c": campaigns[a]})
    conn.commit()  # a repaired, b still drifted: a run asking about a judges both
    run_checks(driver.instance, "integrity_checks_job", tags={"campaign_ops/client": a})
    driver.tick(CHECKS)
    assert slack.titles()[-1] == f":white_check_mark: [RESOLVED] Check stats_drift failed (Acme Dental ({a}))"
    assert {k for _, k in open_keys(conn)} == {f"check_failed:stats_drift:{b}"}

    conn.execute(text("UPDATE campaigns SET completed_leads_count = 50 WHERE id = :c"), {"c": campaigns[a]})
    conn.execute(text("UPDATE campaigns SET completed_leads_count = 0 WHERE id = :c"), {"c": campaigns[b]})
    conn.commit()
    run_checks(driver.instance, "integrity_checks_job")  # every client: a drifted again, b no longer
    driver.tick(CHECKS)
    assert sorted(slack.titles()[2:]) == [
        f":red_circle: [ERROR] Check stats_drift failed (Acme Dental ({a}))",
        f":white_check_mark: [RESOLVED] Check stats_drift failed (Bright Smiles ({b}))",
    ]
    assert {k for _, k in open_keys(conn)} == {f"check_failed:stats_drift:{a}"}


def test_without_slack_alerts_go_to_the_log_and_are_recorded(
    driver: SensorDriver,
    conn: Connection,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    checks_env: None,
) -> None:
    for name in ("ALERT_WEBHOOK_URL", "DE_ENROLLMENT_ALERT_WEBHOOK", "SLACK_BOT_TOKEN", "SLACK_ALERT_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    client_id = add_client(conn, name="Late Dental")
    conn.execute(text("UPDATE clients SET created_at = now() - interval '3 hours'"))
    conn.commit()
    run_checks(driver.instance)
    capsys.readouterr()
    result = driver.tick(CHECKS, slack_alerts=SlackAlertResource())
    assert "1 logged" in str(result.skip_reason)
    sensor_log = capsys.readouterr().err  # the tick's log (context.log), as the daemon records it
    assert "[ALERT] (no Slack configured; logged only)\n[ERROR] No successful de-enrollment for Late Dental" in (
        sensor_log
    )
    row = alert_row(conn, f"no_recent_success:{client_id}")
    assert (row["delivery_status"], row["send_count"]) == ("logged", 1)


# --- silences, failures, never raising, no secrets ---------------------------------------------------------------


def test_silences_from_the_cli_are_honoured_by_every_sensor(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, db_env: str, acme: str, checks_env: None
) -> None:
    cli = CliRunner()
    assert cli.invoke(main, ["alerts", "silence", "--for", "2h", "--reason", "maintenance"]).exit_code == 0
    late = add_client(conn, name="Late Dental")
    conn.execute(text("UPDATE clients SET created_at = now() - interval '3 hours' WHERE id = :c"), {"c": late})
    conn.commit()
    launch(driver.instance, driver.database, error="boom", tags={"dagster/partition": acme})
    evaluate_check(driver.instance, 612, acme)
    run_checks(driver.instance)  # Late Dental: no success in 2 h
    driver.clock.advance(minutes=1)  # the silence began at the real time of the command
    assert "1 silenced" in str(driver.tick(RUNS).skip_reason)
    assert "2 silenced" in str(driver.tick(CHECKS).skip_reason)
    assert slack.received == []
    statuses = conn.execute(text("SELECT DISTINCT delivery_status FROM alert_logs")).scalars().all()
    assert statuses == ["silenced"]

    assert cli.invoke(main, ["alerts", "unsilence", "--all"]).exit_code == 0
    driver.clock.advance(minutes=5)
    evaluate_check(driver.instance, 612, acme)
    run_checks(driver.instance)
    driver.tick(CHECKS)
    assert len(slack.received) == 2  # what still fails is said once the silence is lifted


def test_slack_down_is_recorded_and_retried_on_a_later_tick(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, acme: str
) -> None:
    slack.answer(500)
    launch(driver.instance, driver.database, error="boom", tags={"dagster/partition": acme})
    result = driver.tick(RUNS)
    assert "1 failed" in str(result.skip_reason)
    key = f"run_failed:de_enrollment_job:{acme}"
    assert alert_row(conn, key)["delivery_status"] == "failed"

    slack.answer(200)
    driver.clock.advance(seconds=30)
    driver.tick(RUNS)  # not due yet
    assert len(slack.received) == 1
    driver.clock.advance(seconds=30)
    result = driver.tick(RUNS)  # the next tick after the back-off retries the owed message
    assert "1 retried" in str(result.skip_reason)
    assert len(slack.received) == 2
    assert [(d["status"], d["http_status"]) for d in deliveries(conn, key)] == [("failed", 500), ("sent", 200)]


def test_rate_limited_by_slack_waits_for_retry_after(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, acme: str
) -> None:
    slack.answer(429, headers={"Retry-After": "120"})
    evaluate_check(driver.instance, 612, acme)
    driver.tick(CHECKS)
    slack.answer(200)
    driver.clock.advance(seconds=60)
    driver.tick(RUNS)  # any sensor's tick may retry; this one must still wait
    driver.tick(CHECKS)
    assert len(slack.received) == 1
    driver.clock.advance(seconds=61)
    driver.tick(CHECKS)
    assert len(slack.received) == 2
    assert alert_row(conn, f"check_failed:stats_drift:{acme}")["delivery_status"] == "sent"


def test_a_tick_never_raises_for_slack_or_one_bad_record(
    driver: SensorDriver,
    slack: FakeSlack,
    conn: Connection,
    acme: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    original = alert_events.check_link
    other = add_client(conn, name="Other Clinic")
    conn.commit()
    calls: list[str] = []

    def broken_on_second_record(ui: str, path: Any, check: str) -> str:
        calls.append(check)
        if len(calls) == 2:
            raise KeyError("corrupt evaluation")
        return original(ui, path, check)

    evaluate_check(driver.instance, 612, acme)
    evaluate_check(driver.instance, 612, other)  # the second record is the bad one
    monkeypatch.setattr(alert_events, "check_link", broken_on_second_record)
    slack.answer(200, delay=1.5)  # slower than the 1 s timeout
    result = driver.tick(CHECKS)
    assert "1 firing" in str(result.skip_reason) and "1 failed" in str(result.skip_reason)
    assert "skipped: KeyError('corrupt evaluation')" in capsys.readouterr().err

    unreachable = SlackAlertResource(webhook_url="http://hooks.nonexistent.invalid/services/x", dagster_ui_url=UI_URL)
    driver.clock.advance(minutes=2)
    result = driver.tick(CHECKS, slack_alerts=unreachable)  # the retry meets a DNS failure
    assert "1 retried" in str(result.skip_reason) and "1 failed" in str(result.skip_reason)
    assert alert_row(conn, f"check_failed:stats_drift:{acme}")["last_error"].startswith(
        "cannot resolve Slack's host name"
    )


def test_no_token_or_webhook_url_in_logs_output_or_database(
    driver: SensorDriver,
    slack: FakeSlack,
    conn: Connection,
    acme: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    launch(driver.instance, driver.database, error="boom", tags={"dagster/partition": acme})
    evaluate_check(driver.instance, 612, acme)
    by_token = SlackAlertResource(
        bot_token=BOT_TOKEN, channel="#ops", slack_api_url=slack.api_url, dagster_ui_url=UI_URL, timeout_seconds=1
    )
    for status, headers, delay in [(500, {}, 0.0), (429, {"Retry-After": "1"}, 0.0), (200, {}, 1.5)]:
        slack.answer(status, headers=headers, delay=delay)
        for resource in (driver.slack_alerts, by_token):
            driver.clock.advance(minutes=20)
            for sensor in (RUNS, CHECKS):
                driver.tick(sensor, slack_alerts=resource)
    assert len(slack.received) >= 6  # the failures did reach the server
    # everything our code logged: Python logging (werkzeug's lines are the fake Slack server's own) and the sensors'
    # context.log, which Dagster writes to stderr
    out, err = capsys.readouterr()
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug") + out + err
    stored = list(
        conn.execute(
            text(
                "SELECT coalesce(string_agg(coalesce(last_error, '') || last_payload::text, ' '), '') FROM alert_logs"
                " UNION ALL SELECT coalesce(string_agg(coalesce(error, ''), ' '), '') FROM alert_deliveries"
            )
        ).scalars()
    )
    for secret in ("w3bh00kS3cr3tPath", WEBHOOK_SECRET, "t0k3nS3cr3t", BOT_TOKEN):
        assert secret not in ours
        for value in stored:
            assert secret not in value
    assert "timeout: no answer from Slack within 1 s" in ours  # failures were logged, masked


# --- the Dagster instance on PostgreSQL, as in production ---------------------------------------------------------


def test_event_cursors_on_postgres_storage(
    admin_url: str, database: DatabaseResource, slack: FakeSlack, acme: str, clock: Any
) -> None:
    from campaign_ops_tests.conftest import create_database, drop_database

    name = f"co_dagster_{uuid.uuid4().hex[:12]}"
    url = create_database(admin_url, name)
    try:
        overrides = {"storage": {"postgres": {"postgres_url": url}}}
        with dg.instance_for_test(overrides=overrides) as instance:
            driver = SensorDriver(
                instance, database, SlackAlertResource(webhook_url=slack.webhook_url, dagster_ui_url=UI_URL), clock
            )
            launch(instance, database, error="boom", tags={"dagster/partition": acme})
            evaluate_check(instance, 612, acme)
            driver.tick(RUNS)
            driver.tick(CHECKS)
            driver.tick(RUNS)
            driver.tick(CHECKS)
            assert len(slack.received) == 2
            clock.advance(hours=1)
            evaluate_check(instance, 0, acme)
            driver.tick(CHECKS)
            assert slack.titles()[-1].startswith(":white_check_mark: [RESOLVED] Check stats_drift failed")
    finally:
        drop_database(admin_url, name)


def test_sensors_and_resource_are_in_the_code_location() -> None:
    from campaign_ops.alerts.defs import defs as alerts_defs
    from campaign_ops.shared_defs import defs as core_defs

    defs = dg.Definitions.merge(core_defs, alerts_defs)  # as definitions.py merges them
    dg.Definitions.validate_loadable(defs)

    for name in (RUNS, CHECKS):
        sensor = defs.resolve_sensor_def(name)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        assert {"database", "slack_alerts"} <= set(sensor.required_resource_keys)
    assert {s.name for s in alerts_defs.sensors or ()} == {RUNS, CHECKS}  # the health lines are the checks' now


def test_a_failed_sweep_check_alert_names_the_clients_and_what_to_do(
    driver: SensorDriver, slack: FakeSlack, conn: Connection, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hourly checks run over every client at once: the alert says which client drifted and how to fix it."""
    from campaign_ops.definitions import defs
    from campaign_ops_tests.checks.helpers import refresh_counters

    monkeypatch.setenv("DAGSTER_UI_URL", UI_URL)
    monkeypatch.setenv("DATABASE_URL", db_url)
    drifty, clean = add_client(conn, name="Demo Client 003"), add_client(conn, name="Demo Client 004")
    campaign = add_campaign(conn, drifty, messages=3)
    add_campaign(conn, clean, messages=3)
    refresh_counters(conn)
    conn.execute(text("UPDATE campaigns SET completed_leads_count = 50 WHERE id = :c"), {"c": campaign})
    conn.commit()
    driver.instance.add_dynamic_partitions("clients", [drifty, clean])
    run = defs.resolve_job_def("integrity_checks_job").execute_in_process(
        instance=driver.instance, tags={RANGE_START_TAG: drifty, RANGE_END_TAG: clean}
    )
    assert run.success
    driver.tick(CHECKS)
    (message,) = [m for m in slack.received if "stats_drift" in str(m)]
    text_ = str(message)
    assert "*Where*\\nDemo Client 003 (" + drifty + ")" in text_
    assert "all clients" not in text_ and "Demo Client 004" not in text_
    assert 'campaign-ops reconcile --client \\"Demo Client 003\\"' in text_ or (
        'campaign-ops reconcile --client "Demo Client 003"' in text_
    )
    page = f"{UI_URL}/locations/campaign_ops/jobs/stats_reconciliation_job/partitions"
    assert f"{page}?partition=Demo%20Client%20003--{drifty}" in text_  # that client's partition, not all of them
