"""Seed 004's stuck-client detection: thresholds at their boundaries, severities, terminal states, stamping."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import Connection, text

from campaign_ops.definitions import defs
from campaign_ops.errors import ConfigError
from campaign_ops.onboarding.core import detect_stuck_clients
from campaign_ops_tests.factories import add_client

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def put_in_state(conn: Connection, state: str, minutes_ago: float, *, paid: bool = True, now: datetime = NOW) -> str:
    client = add_client(conn)
    conn.execute(text("UPDATE clients SET payment_active = :p WHERE id = :c"), {"p": paid, "c": client})
    conn.execute(
        text("INSERT INTO onboarding_states (client_id, current_state, state_entered_at) VALUES (:c, :s, :t)"),
        {"c": client, "s": state, "t": now - timedelta(minutes=minutes_ago)},
    )
    return client


def severity(conn: Connection, client: str, **kwargs) -> str | None:
    report = detect_stuck_clients(conn, now=NOW, stamp=False, **kwargs)
    return next((c.severity for c in report.clients if c.client_id == client), None)


@pytest.mark.parametrize(
    ("state", "threshold"),
    [("S1_SIGNUP", 30), ("S2_BUSINESS_DETAILS", 120), ("S7_TEMPLATES_APPROVED", 1440)],
)
def test_threshold_boundary_just_under_and_just_over(conn: Connection, state: str, threshold: int) -> None:
    at = put_in_state(conn, state, threshold)
    over = put_in_state(conn, state, threshold + 1 / 60)  # one second over
    assert severity(conn, at) is None
    assert severity(conn, over) == "LOW"


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(121, "LOW"), (239.9, "LOW"), (240, "MEDIUM"), (479.9, "MEDIUM"), (480, "HIGH"), (5000, "HIGH")],
)
def test_severity_grows_with_how_far_past_the_threshold(conn: Connection, minutes: float, expected: str) -> None:
    client = put_in_state(conn, "S2_BUSINESS_DETAILS", minutes)  # threshold 120 min
    assert severity(conn, client) == expected


def test_terminal_states_are_flagged_and_high_at_once(conn: Connection) -> None:
    test_call = put_in_state(conn, "S9_TEST_CALL", 24 * 60 + 1)
    confirm = put_in_state(conn, "S5_CONFIRM_LIVE", 121, paid=False)
    not_yet = put_in_state(conn, "S9_TEST_CALL", 24 * 60 - 1)
    done = put_in_state(conn, "COMPLETE", 90 * 24 * 60)
    report = detect_stuck_clients(conn, now=NOW, stamp=False)
    by_id = {c.client_id: c for c in report.clients}
    assert set(by_id) == {test_call, confirm}
    assert by_id[test_call].is_terminal and by_id[test_call].severity == "HIGH"
    assert by_id[confirm].is_terminal and not by_id[confirm].payment_active
    assert not_yet not in by_id and done not in by_id
    assert report.as_json()["bySeverity"] == {"LOW": 0, "MEDIUM": 0, "HIGH": 2}


def test_threshold_overrides_are_validated(conn: Connection) -> None:
    client = put_in_state(conn, "S2_BUSINESS_DETAILS", 61)
    assert severity(conn, client) is None
    assert severity(conn, client, thresholds={"S2_BUSINESS_DETAILS": 60}) == "LOW"
    with pytest.raises(ConfigError, match=r"must be 30\.\.1440 minutes, got 10"):
        detect_stuck_clients(conn, now=NOW, thresholds={"S2_BUSINESS_DETAILS": 10})
    with pytest.raises(ConfigError, match="unknown onboarding state 'S0'"):
        detect_stuck_clients(conn, now=NOW, thresholds={"S0": 60})


def test_stuck_detected_at_is_stamped_once_per_state(conn: Connection) -> None:
    client = put_in_state(conn, "S4_CAMPAIGN_SETUP", 300)
    detect_stuck_clients(conn, now=NOW)
    detect_stuck_clients(conn, now=NOW + timedelta(minutes=5))
    stamp = conn.execute(text("SELECT stuck_detected_at FROM onboarding_states WHERE client_id = :c"), {"c": client})
    assert stamp.scalar() == NOW
    # the client moves on, then gets stuck again: a new stamp for the new state
    conn.execute(
        text(
            "UPDATE onboarding_states SET current_state = 'S6_IMPORT_LEADS', state_entered_at = :t WHERE client_id = :c"
        ),
        {"t": NOW + timedelta(minutes=10), "c": client},
    )
    later = NOW + timedelta(hours=7)
    detect_stuck_clients(conn, now=later)
    stamp = conn.execute(text("SELECT stuck_detected_at FROM onboarding_states WHERE client_id = :c"), {"c": client})
    assert stamp.scalar() == later


def run_check(instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    result = defs.resolve_job_def("stuck_onboarding_check_job").execute_in_process(instance=instance)
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def test_check_severity_comes_from_the_worst_client(conn: Connection, db_env: str) -> None:
    with dg.instance_for_test() as instance:
        assert run_check(instance).passed
        # the check reads the process clock, so the states are placed relative to it (not the database's now())
        now = datetime.now(UTC)
        put_in_state(conn, "S2_BUSINESS_DETAILS", 200, paid=True, now=now)  # LOW: 200 min
        conn.commit()
        evaluation = run_check(instance)
        assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
        assert evaluation.metadata["severity_low"].value == 1 and evaluation.metadata["stuck_clients"].value == 1
        late = put_in_state(conn, "S9_TEST_CALL", 25 * 60, now=now)
        conn.execute(text("UPDATE clients SET company_name = 'Late Dental' WHERE id = :c"), {"c": late})
        conn.commit()
        evaluation = run_check(instance)
        # named, with what to do (not "open the check in Dagster": the reader is there)
        assert f"Late Dental ({late})" in (evaluation.description or "")
        assert "campaign-ops stuck-clients" in (evaluation.description or "")
        assert f"Late Dental ({late})" in evaluation.metadata["clients_with_findings"].value  # type: ignore[operator]
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        assert (evaluation.metadata["severity_high"].value, evaluation.metadata["terminal"].value) == (1, 1)
        assert "S9_TEST_CALL" in evaluation.metadata["stuck_clients_table"].value


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "campaign_ops.cli", *args],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_views_and_json_shape(conn: Connection, db_env: str) -> None:
    # the CLI reads the process clock, so the states are placed relative to it (not the database's now())
    now = datetime.now(UTC)
    low = put_in_state(conn, "S1_SIGNUP", 45, now=now)
    high = put_in_state(conn, "S9_TEST_CALL", 30 * 60, now=now)
    conn.commit()
    proc = cli("stuck-clients", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"timestamp", "total", "byState", "bySeverity", "clients"}
    assert data["total"] == 2 and data["byState"] == {"S9_TEST_CALL": 1, "S1_SIGNUP": 1}
    assert data["bySeverity"] == {"LOW": 1, "MEDIUM": 0, "HIGH": 1}
    assert [c["clientId"] for c in data["clients"]] == [high, low]
    only_high = cli("stuck-clients", "--severity", "HIGH")
    assert high in only_high.stdout and low not in only_high.stdout
    terminal = json.loads(cli("stuck-clients", "--terminal", "--json").stdout)
    assert [c["clientId"] for c in terminal["clients"]] == [high] and terminal["clients"][0]["isTerminal"]
