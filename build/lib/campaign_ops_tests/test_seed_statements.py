"""Seeds 003 and 004's statements run verbatim on our schema (the writing ones in a transaction rolled back)."""

import pytest
from sqlalchemy import Connection, text

from campaign_ops.db.migrations import run_script
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops_tests.seed_statements import SEED_003_FACT_FINDING, SEED_004_READ_ONLY, SEED_004_WRITING


@pytest.fixture
def demo(conn: Connection) -> str:
    seed_demo_data(conn, clients=5, campaigns_per_client=1, leads=50, seed=4)
    conn.execute(
        text(
            "INSERT INTO alert_logs (alert_type, alert_key, severity, resource_id, delivered_at, delivery_status)"
            " VALUES ('STUCK_CLIENT', 'k1', 'HIGH', 'c1', now() - interval '1 day', 'sent'),"
            " ('POOL_EMPTY', 'k2', 'HIGH', NULL, now() - interval '2 days', 'sent')"
        )
    )
    conn.commit()
    client = str(
        conn.execute(text("SELECT client_id FROM onboarding_states WHERE current_state = 'S9_TEST_CALL'")).scalar()
    )
    conn.commit()
    return client


@pytest.mark.parametrize("name", sorted(SEED_003_FACT_FINDING))
def test_seed_003_fact_finding_runs_verbatim(conn: Connection, demo: str, name: str) -> None:
    rows = conn.exec_driver_sql(SEED_003_FACT_FINDING[name].replace("%", "%%")).all()
    assert rows, "the demo's lifecycle campaign is named 'Client Letter Automation (demo)'"


def test_seed_003_schedules_show_the_early_round(conn: Connection, demo: str) -> None:
    rows = conn.exec_driver_sql(SEED_003_FACT_FINDING["priority 2"].replace("%", "%%")).all()
    assert [(r.round_number, r.status) for r in rows] == [(1, "COMPLETED"), (2, "COMPLETED"), (3, "SENT")]


@pytest.mark.parametrize("name", sorted(SEED_004_READ_ONLY))
def test_seed_004_queries_run_verbatim(conn: Connection, demo: str, name: str) -> None:
    rows = conn.exec_driver_sql(SEED_004_READ_ONLY[name]).all()
    assert len(rows) == 2


def test_seed_004_weekly_audit_figures(conn: Connection, demo: str) -> None:
    rows = conn.exec_driver_sql(SEED_004_READ_ONLY["weekly audit"]).all()
    assert sorted((r.alert_type, r.total, r.unique_clients) for r in rows) == [
        ("POOL_EMPTY", 1, 0),
        ("STUCK_CLIENT", 1, 1),
    ]


@pytest.mark.parametrize("name", sorted(SEED_004_WRITING))
def test_seed_004_writing_statements_run_verbatim(conn: Connection, demo: str, name: str) -> None:
    sql = SEED_004_WRITING[name].replace("'xxx'", f"'{demo}'")
    transaction = conn.begin()
    try:
        run_script(conn, sql)
        if name == "resolve stuck S9":
            state = conn.execute(text("SELECT current_state FROM onboarding_states WHERE client_id = :c"), {"c": demo})
            assert state.scalar() == "COMPLETE"
        if name == "rollback plan":
            assert conn.execute(text("SELECT to_regclass('alert_logs')")).scalar() is None
    finally:
        transaction.rollback()
    assert conn.execute(text("SELECT to_regclass('alert_logs')")).scalar() == "alert_logs"
