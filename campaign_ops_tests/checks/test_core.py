"""The checks' core functions on real PostgreSQL: clean data passes, boundaries land on the right severity,
figures are exact, a client's evaluation sees only that client, and a query that cannot run raises."""

import threading

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from bench.sop_queries import SOP_STATS_DRIFT, SOP_STUCK_LEADS
from campaign_ops.check_kit.outcome import Level
from campaign_ops.check_kit.remedies import guidance
from campaign_ops.check_kit.snapshot import read_only_snapshot
from campaign_ops.checks.core import (
    DuplicateThresholds,
    HealthThresholds,
    StatsDriftThresholds,
    StuckLeadsThresholds,
    evaluate_duplicate_de_enrollments,
    evaluate_schema_contract,
    evaluate_stats_drift,
    evaluate_stuck_leads,
)
from campaign_ops.checks.health import evaluate_de_enrollment_health
from campaign_ops.errors import ConfigError, UnknownClientError
from campaign_ops_tests.checks.helpers import (
    add_leads,
    add_log_entry,
    add_runs,
    history_entry,
    new_uuid,
    refresh_counters,
    set_history,
)
from campaign_ops_tests.factories import add_campaign, add_client, add_lead


def clean_client(conn: Connection) -> tuple[str, str]:
    """A client whose data is all correct: leads in progress, completed ones, counters right, a recent success."""
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=3)
    add_leads(conn, client, campaign, count=20, position=2)  # len - 1: not stuck
    add_leads(conn, client, campaign, count=5, position=3, active=False, completed=True)
    refresh_counters(conn)
    add_runs(conn, client, status="success", count=4, minutes_ago=5, spacing_minutes=15)
    return client, campaign


def test_every_check_passes_on_clean_data(conn: Connection) -> None:
    client, _ = clean_client(conn)
    conn.commit()
    stuck = evaluate_stuck_leads(conn)
    drift = evaluate_stats_drift(conn)
    duplicates = evaluate_duplicate_de_enrollments(conn)
    health = evaluate_de_enrollment_health(conn)
    schema = evaluate_schema_contract(conn)
    assert [r.level for r in (stuck, drift, duplicates, health, schema)] == [Level.PASSED] * 5
    assert stuck.figures() == {"stuck_leads": 0, "clients_with_stuck_leads": 0}
    assert drift.figures() == {"campaigns_checked": 1, "drifted_campaigns": 0, "largest_difference": 0}
    assert duplicates.figures() == {
        "duplicate_log_enrollments": 0,
        "duplicate_history_enrollments": 0,
        "leads_affected": 0,
    }
    assert health.figures()["runs_24h"] == 4 and health.figures()["success_rate_24h_pct"] == 100.0
    assert [c.client_id for c in health.clients] == [client]
    assert schema.figures()["objects_missing"] == 0 and schema.figures()["objects_expected"] > 100


# --- stuck leads -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stuck", "level"),
    [(100, Level.PASSED), (101, Level.WARN), (500, Level.WARN), (501, Level.ERROR)],
)
def test_stuck_leads_boundaries(conn: Connection, stuck: int, level: Level) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=3)
    # exactly `stuck` stuck leads, at and past the end of the sequence
    add_leads(conn, client, campaign, count=stuck // 2, position=3)
    add_leads(conn, client, campaign, count=stuck - stuck // 2, position=4)
    # never stuck: one short of the end, completed, inactive, or in an inactive client
    add_leads(conn, client, campaign, count=7, position=2)
    add_leads(conn, client, campaign, count=3, position=3, completed=True)
    add_leads(conn, client, campaign, count=4, position=5, active=False)
    conn.commit()
    result = evaluate_stuck_leads(conn)
    assert result.level == level
    assert result.total == stuck
    assert result.figures() == {"stuck_leads": stuck, "clients_with_stuck_leads": 1}
    # the SOP's own query agrees
    assert conn.execute(text(SOP_STUCK_LEADS)).scalar() == stuck


def test_stuck_leads_sample_table_and_per_client_scope(conn: Connection) -> None:
    a, b = add_client(conn, name="Alpha"), add_client(conn, name="Beta")
    ca, cb = add_campaign(conn, a, messages=3, name="Alpha seq"), add_campaign(conn, b, messages=2, name="Beta seq")
    add_leads(conn, a, ca, count=101, position=3)
    furthest = add_lead(conn, a, ca, position=9)
    add_leads(conn, b, cb, count=3, position=2)
    inactive = add_client(conn, active=False)
    add_leads(conn, inactive, add_campaign(conn, inactive, messages=1), count=600, position=1)
    conn.commit()

    everyone = evaluate_stuck_leads(conn)  # all active clients: the inactive one is left alone by design
    assert everyone.by_client == {a: 102, b: 3}
    assert everyone.level == Level.WARN
    assert len(everyone.sample) == 20
    assert everyone.sample[0].lead_id == furthest  # furthest past the end first
    assert (everyone.sample[0].position, everyone.sample[0].sequence_length) == (9, 3)
    table = everyone.tables()["stuck_leads_sample"]
    assert table.splitlines()[0] == "| id | client | campaign | position | sequence length |"
    assert len(table.splitlines()) == 2 + 20
    assert f"| {furthest} | Alpha | Alpha seq | 9 | 3 |" in table
    assert everyone.client_findings() == {
        a: {"stuck_leads": 102, "level": "warn"},
        b: {"stuck_leads": 3, "level": "passed"},
    }

    only_b = evaluate_stuck_leads(conn, [b])
    assert only_b.by_client == {b: 3} and only_b.level == Level.PASSED
    assert {s.client_id for s in only_b.sample} == {b} and len(only_b.sample) == 3

    asked_for = evaluate_stuck_leads(conn, [inactive])  # asked for explicitly: inspected
    assert asked_for.total == 600 and asked_for.level == Level.ERROR

    small = evaluate_stuck_leads(conn, [a], StuckLeadsThresholds(warn_above=1, error_above=101, sample_size=5))
    assert small.level == Level.ERROR and len(small.sample) == 5


def test_bad_client_ids_and_thresholds_are_one_clear_error(conn: Connection) -> None:
    with pytest.raises(UnknownClientError, match="not a uuid"):
        evaluate_stuck_leads(conn, ["client-7"])
    missing = new_uuid()
    with pytest.raises(UnknownClientError, match=f"unknown client id\\(s\\): {missing}"):
        evaluate_stats_drift(conn, [missing])
    with pytest.raises(ConfigError, match="warn_above <= error_above"):
        StuckLeadsThresholds(warn_above=600, error_above=500)
    with pytest.raises(ConfigError):
        StatsDriftThresholds(sample_size=0)
    with pytest.raises(ConfigError):
        HealthThresholds(success_rate_warn_below_pct=101)
    with pytest.raises(ConfigError):
        DuplicateThresholds(error_above=-1)


# --- stats drift -----------------------------------------------------------------------------------------------


def drifted_campaign(conn: Connection, client: str, *, by: int, column: str = "active_leads_count") -> str:
    campaign = add_campaign(conn, client, messages=5)
    add_leads(conn, client, campaign, count=12, position=1)
    add_leads(conn, client, campaign, count=3, position=5, active=False, completed=True)
    refresh_counters(conn, [campaign])
    conn.execute(text(f"UPDATE campaigns SET {column} = {column} + :by WHERE id = :id"), {"by": by, "id": campaign})
    return campaign


@pytest.mark.parametrize(
    ("difference", "level"),
    [(5, Level.PASSED), (6, Level.WARN), (10, Level.WARN), (11, Level.ERROR)],
)
def test_stats_drift_boundaries(conn: Connection, difference: int, level: Level) -> None:
    client = add_client(conn)
    campaign = drifted_campaign(conn, client, by=difference)
    conn.commit()
    result = evaluate_stats_drift(conn)
    assert result.level == level
    drifted = 0 if level == Level.PASSED else 1
    assert result.figures() == {
        "campaigns_checked": 1,
        "drifted_campaigns": drifted,
        "largest_difference": difference if drifted else 0,
    }
    # the SOP's troubleshooting query (difference > 5) finds the same campaigns
    assert [str(r.id) for r in conn.execute(text(SOP_STATS_DRIFT))] == ([campaign] if drifted else [])


def test_drift_behind_a_failing_de_enrollment_says_to_fix_the_de_enrollment_and_links_its_run(
    conn: Connection,
) -> None:
    failing, fine = add_client(conn, name="Demo Client 777"), add_client(conn, name="Demo Client 314")
    drifted_campaign(conn, failing, by=43)
    drifted_campaign(conn, fine, by=50)
    add_runs(conn, failing, status="success", minutes_ago=20)
    (failed_row,) = add_runs(conn, failing, status="failed", minutes_ago=5, error_details="log disk full")
    conn.execute(text("UPDATE de_enrollment_runs SET dagster_run_id = 'run-777' WHERE id = :i"), {"i": failed_row})
    add_runs(conn, fine, status="failed", minutes_ago=30)
    add_runs(conn, fine, status="success", minutes_ago=5)  # its newest pass succeeded: its drift is reconciled
    conn.commit()
    result = evaluate_stats_drift(conn)
    findings = result.client_findings()
    assert findings[failing]["failing_de_enrollment_run"] == "run-777"
    assert "failing_de_enrollment_run" not in findings[fine]
    help_ = guidance("stats_drift", findings, {failing: "Demo Client 777", fine: "Demo Client 314"}, "http://ui")
    assert help_ is not None
    assert help_.todo.startswith(
        "the client's de-enrollment is failing, so its due leads wait and its counters are not settled: open the "
        "failed run (Demo Client 777: http://ui/runs/run-777), fix its cause;"
    ), help_.todo
    assert 'campaign-ops reconcile --client "Demo Client 314"' in help_.todo
    assert 'reconcile --client "Demo Client 777"' not in help_.todo
    assert help_.link == "http://ui/runs/run-777"


def test_stats_drift_uses_both_active_definitions_and_every_counter(conn: Connection) -> None:
    client = add_client(conn, name="Drifty")
    # counters right by "is_active AND opted_out = false", but 6 active opted-out leads: the SOP's other
    # definition ("is_active" alone, 6.2 and Level 3) sees 6 more
    by_any = add_campaign(conn, client, messages=4, name="opted out but active")
    add_leads(conn, client, by_any, count=10, position=1)
    add_leads(conn, client, by_any, count=6, position=1, opted_out=True)
    refresh_counters(conn)
    # the other counters, one campaign each, off by exactly 7, 8 and 12
    completed = drifted_campaign(conn, client, by=7, column="completed_leads_count")
    opted = drifted_campaign(conn, client, by=8, column="opted_out_count")
    booked = drifted_campaign(conn, client, by=12, column="booked_count")
    fine = drifted_campaign(conn, client, by=4)
    conn.commit()

    result = evaluate_stats_drift(conn)
    assert result.campaigns_checked == 5
    by_id = {d.campaign_id: d for d in result.drifted}
    assert set(by_id) == {by_any, completed, opted, booked} and fine not in by_id
    assert by_id[by_any].largest_difference == 6
    assert (by_id[by_any].active_leads_count, by_id[by_any].active_not_opted_out, by_id[by_any].active_any) == (
        10,
        10,
        16,
    )
    assert by_id[completed].largest_difference == 7
    assert by_id[opted].largest_difference == 8
    assert by_id[booked].largest_difference == 12
    assert [d.campaign_id for d in result.drifted] == [booked, opted, completed, by_any]  # worst first
    assert result.level == Level.ERROR
    assert result.figures() == {"campaigns_checked": 5, "drifted_campaigns": 4, "largest_difference": 12}
    table = result.tables()["worst_drifted_campaigns"]
    assert len(table.splitlines()) == 2 + 4
    assert f"| opted out but active ({by_any}) | Drifty | 10 | 10 | 16 |" in table
    findings = result.client_findings()
    assert findings[client] == {
        "drifted_campaigns": 4,
        "largest_difference": 12,
        "level": "error",
        "campaigns": findings[client]["campaigns"],
    }
    # the worst three, by name, worst first
    assert len(findings[client]["campaigns"]) == 3 and findings[client]["campaigns"][0].endswith("off by 12")

    # one client's evaluation sees only its campaigns
    other = add_client(conn)
    drifted_campaign(conn, other, by=9)
    conn.commit()
    assert evaluate_stats_drift(conn, [other]).figures() == {
        "campaigns_checked": 1,
        "drifted_campaigns": 1,
        "largest_difference": 9,
    }
    assert evaluate_stats_drift(conn, [client]).figures()["drifted_campaigns"] == 4


# --- duplicate de-enrollments -------------------------------------------------------------------------------------


def test_duplicate_log_entries_live_and_archive(conn: Connection) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=3)
    lead = add_lead(conn, client, campaign, position=3, active=False)
    other_lead = add_lead(conn, client, campaign, position=3, active=False)
    (run,) = add_runs(conn, client)
    enrolled = "2026-01-01T00:00:00+00:00"
    add_log_entry(conn, run, lead, client, campaign, enrolled)
    add_log_entry(conn, run, other_lead, client, campaign, enrolled)
    conn.commit()
    assert evaluate_duplicate_de_enrollments(conn).level == Level.PASSED

    # the same enrollment archived once more (another id, no `restored` entry between) is a duplicate
    conn.execute(
        text(
            "INSERT INTO de_enrollment_lead_log_archive (id, run_id, lead_id, client_id, campaign_id, enrolled_at,"
            " action, outcome, messages_received, processed_at)"
            " SELECT id + 1000, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome,"
            "        messages_received, processed_at FROM de_enrollment_lead_log WHERE lead_id = :lead"
        ),
        {"lead": lead},
    )
    # a row copied to the archive but not yet deleted (same id) is one entry, not a duplicate
    conn.execute(
        text(
            "INSERT INTO de_enrollment_lead_log_archive (id, run_id, lead_id, client_id, campaign_id, enrolled_at,"
            " action, outcome, messages_received, processed_at)"
            " SELECT id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome,"
            "        messages_received, processed_at FROM de_enrollment_lead_log WHERE lead_id = :lead"
        ),
        {"lead": other_lead},
    )
    conn.commit()
    result = evaluate_duplicate_de_enrollments(conn)
    assert result.archive_included
    assert [(d.lead_id, d.campaign_id, d.times_logged) for d in result.log_duplicates] == [(lead, campaign, 2)]
    assert result.level == Level.ERROR
    assert result.figures() == {
        "duplicate_log_enrollments": 1,
        "duplicate_history_enrollments": 0,
        "leads_affected": 1,
    }
    assert f"| {lead} | {client} | {campaign} |" in result.tables()["log_duplicates_table"]
    assert evaluate_duplicate_de_enrollments(conn, [add_client(conn)]).level == Level.PASSED


def test_duplicates_without_an_archive_table_and_with_the_index_gone(conn: Connection) -> None:
    """Works on a database without the archive (before migration 0024), and finds live duplicates (the
    guard is in de_enroll_leads, not a unique index that would fail a whole chunk)."""
    conn.execute(text("DROP TABLE de_enrollment_lead_log_archive CASCADE"))
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=3)
    lead = add_lead(conn, client, campaign, position=3, active=False)
    (run,) = add_runs(conn, client)
    for _ in range(3):
        add_log_entry(conn, run, lead, client, campaign, None)  # NULL enrolled_at counts as the same
    conn.commit()
    result = evaluate_duplicate_de_enrollments(conn)
    assert not result.archive_included
    assert [(d.lead_id, d.enrolled_at, d.times_logged) for d in result.log_duplicates] == [(lead, None, 3)]
    assert result.level == Level.ERROR
    assert "lead log," in result.summary and "archive" not in result.summary


def test_duplicate_campaign_history_entries(conn: Connection) -> None:
    client = add_client(conn)
    campaign, second = add_campaign(conn, client), add_campaign(conn, client)
    twice = add_lead(conn, client, campaign, position=3, active=False)
    set_history(
        conn,
        twice,
        [
            history_entry(campaign, "2026-01-01T00:00:00+00:00"),
            history_entry(second, "2026-02-01T00:00:00+00:00"),
            history_entry(campaign, "2026-01-01T00:00:00+00:00"),
        ],
    )
    re_enrolled = add_lead(conn, client, campaign, position=3, active=False)  # same campaign, two enrollments
    set_history(
        conn,
        re_enrolled,
        [history_entry(campaign, "2026-01-01T00:00:00+00:00"), history_entry(campaign, "2026-03-01T00:00:00+00:00")],
    )
    conn.commit()
    result = evaluate_duplicate_de_enrollments(conn)
    assert [(d.lead_id, d.campaign_id, d.enrolled_at, d.times_in_history) for d in result.history_duplicates] == [
        (twice, campaign, "2026-01-01T00:00:00+00:00", 2)
    ]
    assert result.figures() == {
        "duplicate_log_enrollments": 0,
        "duplicate_history_enrollments": 1,
        "leads_affected": 1,
    }
    assert result.level == Level.ERROR
    assert result.client_findings() == {
        client: {"duplicate_log_enrollments": 0, "duplicate_history_enrollments": 1, "level": "error"}
    }
    tolerant = evaluate_duplicate_de_enrollments(conn, thresholds=DuplicateThresholds(error_above=1))
    assert tolerant.level == Level.PASSED


# --- schema contract ---------------------------------------------------------------------------------------------


def test_schema_contract_fails_on_a_dropped_column(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE leads DROP COLUMN completed_at CASCADE"))
    conn.commit()
    result = evaluate_schema_contract(conn)
    assert result.level == Level.ERROR
    missing = {(i.kind, i.name) for i in result.missing}
    assert ("column", "leads.completed_at") in missing
    assert result.figures()["objects_missing"] == len(result.missing) >= 1
    assert "column leads.completed_at" in result.summary
    assert "| column | leads.completed_at |" in result.tables()["missing_objects"]


# --- queries that cannot run -------------------------------------------------------------------------------------


def test_statement_timeout_raises_instead_of_passing(conn: Connection, engine: Engine) -> None:
    """A check blocked behind a lock ends with the server's timeout error, never a result."""
    clean_client(conn)
    conn.commit()
    locked = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        with engine.connect() as locker:
            locker.execute(text("LOCK TABLE leads IN ACCESS EXCLUSIVE MODE"))
            locked.set()
            release.wait(10)
            locker.rollback()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        with pytest.raises(OperationalError, match="statement timeout"), read_only_snapshot(conn, 200):
            evaluate_stuck_leads(conn)
    finally:
        release.set()
        holder.join()
    # the snapshot was rolled back: the connection is usable again
    with read_only_snapshot(conn):
        assert evaluate_stuck_leads(conn).level == Level.PASSED
