import uuid

import pytest
from sqlalchemy import Connection, Engine, text

from bench.sop_queries import SOP_READ_ONLY_QUERIES, SOP_STATS_DRIFT, SOP_STATS_MATCH
from campaign_ops.errors import ConfigError, UnknownClientError
from campaign_ops.reconciliation.core import (
    ReconciliationSettings,
    reconcile_client,
    reconcile_clients,
)
from campaign_ops_tests.factories import add_client, add_lead
from campaign_ops_tests.reconciliation.builders import (
    Leads,
    add_campaign_with_leads,
    campaigns_snapshot,
    counters,
    log_rows,
    refresh_all_counters,
    set_counter,
)

SOP_STATS_ACCURACY = SOP_READ_ONLY_QUERIES["L3 stats accuracy"]


def drifted_ids(conn: Connection, query: str) -> set[str]:
    return {str(r[0]) for r in conn.execute(text(query))}


@pytest.fixture
def two_clients(conn: Connection) -> dict[str, str]:
    """Client a: four campaigns with known true counters, drift injected into three; client b: one drifting."""
    a, b = add_client(conn, name="Acme"), add_client(conn, name="Bolt")
    ids = {
        "a": a,
        "b": b,
        "c1": add_campaign_with_leads(conn, a, Leads(active=12, completed=3, opted_out=2, booked=1), name="c1"),
        "c2": add_campaign_with_leads(conn, a, Leads(active=5, completed=4, booked=2), name="c2"),
        "c3": add_campaign_with_leads(conn, a, Leads(active=8, opted_out=1), name="c3"),
        "c4": add_campaign_with_leads(conn, a, Leads(), name="c4"),
        "c5": add_campaign_with_leads(conn, b, Leads(active=4), name="c5"),
    }
    refresh_all_counters(conn)
    set_counter(conn, ids["c1"], "active_leads_count", 30)  # actual 12
    set_counter(conn, ids["c1"], "completed_leads_count", 1)  # actual 3
    set_counter(conn, ids["c2"], "booked_count", 9)  # actual 2
    set_counter(conn, ids["c4"], "opted_out_count", 6)  # actual 0
    set_counter(conn, ids["c5"], "active_leads_count", 20)  # actual 4 (client b)
    conn.commit()
    return ids


def test_drift_is_found_exactly_logged_then_corrected(conn: Connection, engine: Engine, two_clients: dict) -> None:
    ids = two_clients
    assert drifted_ids(conn, SOP_STATS_DRIFT) == {ids["c1"], ids["c5"]}  # the SOP sees differences > 5
    assert drifted_ids(conn, SOP_STATS_ACCURACY) == {ids["c1"], ids["c5"]}  # and > 10
    c3_before = conn.execute(text("SELECT updated_at FROM campaigns WHERE id = :id"), {"id": ids["c3"]}).scalar()
    conn.commit()

    sweep = reconcile_clients(engine, [ids["a"]], ReconciliationSettings(), dagster_run_id="run-123")

    assert sweep.failures == []
    [result] = sweep.results
    expected = {
        (ids["c1"], "active_leads_count", 30, 12),
        (ids["c1"], "completed_leads_count", 1, 3),
        (ids["c2"], "booked_count", 9, 2),
        (ids["c4"], "opted_out_count", 6, 0),
    }
    assert {(d.campaign_id, d.counter, d.reported, d.actual) for d in result.drifts} == expected
    assert (result.campaigns_checked, result.campaigns_drifted, result.campaigns_corrected) == (4, 3, 3)
    assert (result.total_abs_difference, result.largest_difference) == (18 + 2 + 7 + 6, 18)
    assert result.drifts[0].counter == "active_leads_count" and result.drifts[0].difference == -18  # largest first

    # every drift logged, with the run id and the client
    logged = log_rows(conn)
    assert {(r[0], r[1], r[2], r[3]) for r in logged} == expected
    assert {(r[4], r[5], r[6], r[7]) for r in logged if r[1] == "active_leads_count"} == {
        (-18, ids["a"], "run-123", result.reconciliation_id)
    }
    assert {r[5] for r in logged} == {ids["a"]} and {r[7] for r in logged} == {result.reconciliation_id}

    # corrected to the truth; untouched where nothing drifted; client b left alone
    assert counters(conn, ids["c1"]) == (12, 3, 2, 1)
    assert counters(conn, ids["c2"]) == (5, 4, 0, 2)
    assert counters(conn, ids["c3"]) == (8, 0, 1, 0)
    assert counters(conn, ids["c4"]) == (0, 0, 0, 0)
    assert counters(conn, ids["c5"]) == (20, 0, 0, 0)
    assert (
        conn.execute(text("SELECT updated_at FROM campaigns WHERE id = :id"), {"id": ids["c3"]}).scalar() == c3_before
    )
    assert drifted_ids(conn, SOP_STATS_DRIFT) == {ids["c5"]}
    conn.commit()

    other = reconcile_clients(engine, [ids["b"]], ReconciliationSettings())
    assert [(d.campaign_id, d.reported, d.actual) for d in other.results[0].drifts] == [(ids["c5"], 20, 4)]
    for query in (SOP_STATS_DRIFT, SOP_STATS_ACCURACY, SOP_STATS_MATCH):
        assert conn.execute(text(query)).all() == []
    # the same definitions as refresh_campaign_counters: it finds nothing left to change
    assert refresh_all_counters(conn) == 0
    conn.rollback()

    # running again finds nothing and logs nothing
    again = reconcile_clients(engine, [ids["a"], ids["b"]], ReconciliationSettings())
    assert [r.drifts for r in again.results] == [(), ()]
    assert [r.reconciliation_id for r in again.results] == [None, None]
    assert len(log_rows(conn)) == 5


def test_dry_run_reports_the_same_drift_and_changes_nothing(
    conn: Connection, engine: Engine, two_clients: dict
) -> None:
    before = campaigns_snapshot(conn)
    conn.commit()
    sweep = reconcile_clients(engine, [two_clients["a"], two_clients["b"]], ReconciliationSettings(dry_run=True))
    a, b = sweep.results
    assert a.dry_run and a.reconciliation_id is None and a.campaigns_corrected == 0
    assert (a.campaigns_checked, a.campaigns_drifted, a.total_abs_difference, a.largest_difference) == (4, 3, 33, 18)
    assert (b.campaigns_drifted, b.total_abs_difference) == (1, 16)
    assert campaigns_snapshot(conn) == before
    assert log_rows(conn) == []


def test_counter_definitions_match_refresh_campaign_counters(conn: Connection, engine: Engine) -> None:
    """active = is_active AND NOT opted_out, completed = completed_at set, whatever else the lead is."""
    client = add_client(conn)
    campaign = add_campaign_with_leads(conn, client, Leads(active=2))
    add_lead(conn, client, campaign, active=True, opted_out=True)  # opted out, not active
    add_lead(conn, client, campaign, active=True, booked=True)  # active and booked
    add_lead(conn, client, campaign, active=False, opted_out=True, booked=True)  # both
    conn.commit()  # every counter reads 0: all drift
    [result] = reconcile_clients(engine, [client], ReconciliationSettings()).results
    assert {(d.counter, d.reported, d.actual) for d in result.drifts} == {
        ("active_leads_count", 0, 3),
        ("opted_out_count", 0, 2),
        ("booked_count", 0, 2),
    }
    assert refresh_all_counters(conn) == 0


@pytest.mark.parametrize(
    "bad_ids",
    [
        lambda ids: [str(uuid.uuid4())],
        lambda ids: ["not-a-uuid"],
        lambda ids: [ids["inactive"]],
        lambda ids: [ids["a"], str(uuid.uuid4())],
    ],
    ids=["unknown", "malformed", "inactive", "one-good-one-unknown"],
)
def test_bad_clients_are_refused_before_anything_changes(
    conn: Connection, engine: Engine, two_clients: dict, bad_ids
) -> None:
    ids = {**two_clients, "inactive": add_client(conn, active=False)}
    conn.commit()
    before = campaigns_snapshot(conn)
    with pytest.raises(UnknownClientError):
        reconcile_clients(engine, bad_ids(ids), ReconciliationSettings())
    assert campaigns_snapshot(conn) == before
    assert log_rows(conn) == []


@pytest.mark.parametrize("timeout", [0, -1, 5000, "10", True])
def test_bad_lock_timeout_is_refused(timeout: object) -> None:
    with pytest.raises(ConfigError, match="lock_timeout_seconds"):
        ReconciliationSettings(lock_timeout_seconds=timeout)  # type: ignore[arg-type]


def test_log_and_correction_are_one_transaction(conn: Connection, engine: Engine, two_clients: dict) -> None:
    """When one campaign cannot be corrected, nothing is corrected and nothing is logged."""
    conn.execute(
        text(
            """
            CREATE FUNCTION test_refuse_c2() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RETURN NULL; END $$;
            CREATE TRIGGER test_refuse_c2 BEFORE UPDATE ON campaigns
                FOR EACH ROW WHEN (OLD.name = 'c2') EXECUTE FUNCTION test_refuse_c2();
            """
        )
    )
    conn.commit()
    before = campaigns_snapshot(conn)
    sweep = reconcile_clients(engine, [two_clients["a"], two_clients["b"]], ReconciliationSettings())
    [failure] = sweep.failures
    assert failure.client_id == two_clients["a"] and failure.client_name == "Acme"
    assert "3 campaigns logged as drifted but 2 corrected; rolled back" in failure.error
    # client a: nothing changed, nothing logged; client b was still reconciled
    after = {r[0]: r for r in campaigns_snapshot(conn)}
    assert [after[r[0]] for r in before if str(r[1]) == two_clients["a"]] == [
        r for r in before if str(r[1]) == two_clients["a"]
    ]
    assert {r[5] for r in log_rows(conn)} == {two_clients["b"]}
    assert counters(conn, two_clients["c5"]) == (4, 0, 0, 0)


def test_reconcile_client_leaves_no_lock_and_no_session_settings_behind(
    conn: Connection, engine: Engine, two_clients: dict
) -> None:
    with engine.connect() as worker:
        reconcile_client(worker, two_clients["a"], ReconciliationSettings(lock_timeout_seconds=7))
        assert worker.execute(text("SHOW lock_timeout")).scalar() == "0"
        held = worker.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        ).scalar()
        assert held == 0
