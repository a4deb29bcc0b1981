"""Seed 002's de-enrollment scenarios on the real schema: logic, isolation, statistics, monitoring, idempotency."""

from sqlalchemy import Connection, Engine, text

from bench.sop_queries import SOP_DUPLICATES, SOP_STATS_DRIFT, SOP_STATS_MATCH, SOP_STUCK_LEADS
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops_tests.de_enrollment.conftest import ClientData, lead_state, make_client, run, snapshot
from campaign_ops_tests.factories import add_campaign, add_client, add_lead


def counters(conn: Connection, campaign_id: str) -> tuple[int, int, int, int]:
    row = conn.execute(
        text(
            "SELECT active_leads_count, completed_leads_count, opted_out_count, booked_count FROM campaigns"
            " WHERE id = :c"
        ),
        {"c": campaign_id},
    ).one()
    conn.commit()
    return tuple(row)  # type: ignore[return-value]


# --- lead de-enrollment logic -------------------------------------------------------------------------------


def test_boundary_positions_len_minus_one_len_len_plus_one(conn: Connection, engine: Engine) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=5)
    below, at, above = (add_lead(conn, client, campaign, position=p) for p in (4, 5, 6))
    conn.commit()
    result = run(engine, client)
    assert result.clients[0].leads_de_enrolled == 2 and result.clients[0].completed == 2
    assert lead_state(conn, below)["is_active"] is True
    for lead in (at, above):
        state = lead_state(conn, lead)
        assert state["is_active"] is False and state["completed_at"] is not None


def test_completed_lead_gets_one_history_entry_and_one_log_row(conn: Connection, engine: Engine) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=3, name="Spring Promo")
    lead = add_lead(conn, client, campaign, position=3)
    conn.commit()
    run(engine, client)
    [entry] = lead_state(conn, lead)["campaign_history"]
    assert entry["campaign_id"] == campaign and entry["campaign_name"] == "Spring Promo"
    assert entry["outcome"] == "completed" and entry["messages_received"] == 3
    assert entry["enrolled_at"] and entry["ended_at"]
    log = conn.execute(
        text(
            "SELECT action, outcome, messages_received, campaign_id::text, client_id::text"
            " FROM de_enrollment_lead_log WHERE lead_id = :l"
        ),
        {"l": lead},
    ).all()
    assert [tuple(r) for r in log] == [("de_enrolled", "completed", 3, campaign, client)]


def test_opted_out_and_booked_leads_are_de_enrolled_with_their_outcome(conn: Connection, engine: Engine) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=4)
    opted = add_lead(conn, client, campaign, position=1, opted_out=True)
    booked = add_lead(conn, client, campaign, position=2, booked=True)
    both = add_lead(conn, client, campaign, position=4, opted_out=True, booked=True)  # opting out wins
    # the platform keeps its counters; de-enrollment moves them by what it changes
    conn.execute(text("SELECT refresh_campaign_counters(ARRAY[CAST(:c AS uuid)])"), {"c": campaign})
    conn.commit()
    assert counters(conn, campaign) == (1, 0, 2, 2)
    r = run(engine, client).clients[0]
    assert (r.leads_de_enrolled, r.completed, r.opted_out, r.booked) == (3, 0, 2, 1)
    for lead, outcome in ((opted, "opted_out"), (booked, "booked"), (both, "opted_out")):
        state = lead_state(conn, lead)
        assert state["is_active"] is False and state["completed_at"] is None
        assert state["campaign_history"][-1]["outcome"] == outcome
    assert counters(conn, campaign) == (0, 0, 2, 2)


def test_in_progress_finished_and_unenrolled_leads_are_untouched(conn: Connection, engine: Engine) -> None:
    data = make_client(conn)
    no_campaign = add_lead(conn, data.client_id, None, position=9)
    conn.commit()
    untouched = [*data.in_progress, *data.finished, no_campaign]
    before = {lead: lead_state(conn, lead) for lead in untouched}
    run(engine, data.client_id)
    assert {lead: lead_state(conn, lead) for lead in untouched} == before


def test_de_enrollment_keeps_active_implies_not_opted_out(conn: Connection, engine: Engine, two_clients) -> None:
    run(engine, *(c.client_id for c in two_clients))
    bad = conn.execute(text("SELECT count(*) FROM leads WHERE is_active AND (opted_out OR booked_meeting)")).scalar()
    assert bad == 0


# --- multi-client isolation ---------------------------------------------------------------------------------


def test_inactive_clients_leads_are_never_touched(conn: Connection, engine: Engine) -> None:
    inactive = make_client(conn, active=False)
    conn.commit()
    before = snapshot(conn, inactive.client_id)
    # even when asked directly, the SQL refuses to de-enroll leads of an inactive client
    result = run(engine, inactive.client_id)
    assert result.clients[0].leads_de_enrolled == 0
    assert snapshot(conn, inactive.client_id) == before


def test_one_clients_pass_never_touches_another(conn: Connection, engine: Engine, two_clients) -> None:
    a, b = two_clients
    before_b = snapshot(conn, b.client_id)
    result = run(engine, a.client_id)
    assert result.clients[0].leads_de_enrolled == len(a.due_completed) + 2
    assert snapshot(conn, b.client_id) == before_b
    other_log = conn.execute(
        text("SELECT count(*) FROM de_enrollment_lead_log WHERE client_id = :b"), {"b": b.client_id}
    ).scalar()
    assert other_log == 0


# --- campaign statistics ------------------------------------------------------------------------------------


def test_counters_move_in_the_same_transaction_to_the_truth(conn: Connection, engine: Engine) -> None:
    data: ClientData = make_client(conn, due=4, in_progress=3)
    conn.commit()
    # before: 4 due + 3 in progress + booked are active and not opted out; the opted-out one is not counted
    assert counters(conn, data.campaign_id) == (8, 1, 1, 1)
    run(engine, data.client_id)
    assert counters(conn, data.campaign_id) == (3, 5, 1, 1)
    assert conn.execute(text("SELECT refresh_campaign_counters(array_agg(id)) FROM campaigns")).scalar() == 0


def test_a_pass_leaves_the_campaigns_it_touched_matching_their_leads_whatever_drifted_before(
    conn: Connection, engine: Engine
) -> None:
    """The pass moves the counters by what it changed, then the campaigns it touched are made to match their leads
    (a drift it did not cause included: a platform that only flips flags, a person in psql), each difference
    logged first; never below zero, never failing the pass."""
    data: ClientData = make_client(conn, due=4, in_progress=3)
    conn.execute(
        text("UPDATE campaigns SET active_leads_count = 2, completed_leads_count = 10 WHERE id = :c"),
        {"c": data.campaign_id},
    )
    conn.commit()
    r = run(engine, data.client_id).clients[0]
    assert (r.status, r.leads_de_enrolled) == ("success", 6)
    assert counters(conn, data.campaign_id) == (3, 5, 1, 1)
    assert conn.execute(text("SELECT refresh_campaign_counters(array_agg(id)) FROM campaigns")).scalar() == 0
    # moved by the pass: 2 - 5 floored at 0 and 10 + 4; then logged and corrected to the leads' 3 and 5
    logged = conn.execute(
        text("SELECT counter, reported, actual FROM stats_reconciliation_log WHERE campaign_id = :c ORDER BY counter"),
        {"c": data.campaign_id},
    ).all()
    assert [tuple(row) for row in logged] == [("active_leads_count", 0, 3), ("completed_leads_count", 14, 5)]


def test_untouched_campaigns_keep_their_counters(conn: Connection, engine: Engine) -> None:
    client = add_client(conn)
    busy = add_campaign(conn, client)
    quiet = add_campaign(conn, client)
    add_lead(conn, client, busy, position=3)
    add_lead(conn, client, quiet, position=0)
    conn.execute(text("UPDATE campaigns SET active_leads_count = 42 WHERE id = :q"), {"q": quiet})
    conn.commit()
    run(engine, client)
    assert counters(conn, quiet)[0] == 42  # de-enrollment corrects only what it touched; reconciliation does the rest


def test_running_again_changes_nothing(conn: Connection, engine: Engine, two_clients) -> None:
    ids = [c.client_id for c in two_clients]
    first = run(engine, *ids)
    assert first.leads_de_enrolled > 0
    after_first = snapshot(conn)
    log_rows = conn.execute(text("SELECT count(*) FROM de_enrollment_lead_log")).scalar()
    second = run(engine, *ids)
    assert second.leads_de_enrolled == 0
    assert snapshot(conn) == after_first
    assert conn.execute(text("SELECT count(*) FROM de_enrollment_lead_log")).scalar() == log_rows


# --- monitoring and logging ---------------------------------------------------------------------------------


def test_each_clients_pass_writes_a_run_row_with_exact_figures(conn: Connection, engine: Engine, two_clients) -> None:
    a, b = two_clients
    result = de_enroll_clients(engine, [a.client_id, b.client_id], DeEnrollmentSettings(), dagster_run_id="dagster-123")
    rows = {
        r.client_id: r
        for r in conn.execute(
            text(
                "SELECT client_id::text, status, leads_evaluated, leads_de_enrolled, duration_ms, dagster_run_id,"
                " error_details, finished_at FROM de_enrollment_runs"
            )
        )
    }
    for data, expected_done in ((a, 6), (b, 4)):
        row = rows[data.client_id]
        # evaluated: every active, not completed lead (due, in progress, opted out, booked)
        assert row.leads_evaluated == len(data.due_completed) + len(data.in_progress) + 2
        assert (row.status, row.leads_de_enrolled, row.dagster_run_id) == ("success", expected_done, "dagster-123")
        assert row.duration_ms >= 0 and row.finished_at is not None and row.error_details is None
    assert [c.run_row_id for c in result.clients] == [
        conn.execute(text("SELECT id::text FROM de_enrollment_runs WHERE client_id = :c"), {"c": c.client_id}).scalar()
        for c in result.clients
    ]


def test_sop_lead_history_query_finds_the_de_enrollment(conn: Connection, engine: Engine, two_clients) -> None:
    a, _ = two_clients
    run(engine, a.client_id)
    from bench.sop_queries import SOP_READ_ONLY_QUERIES

    sql = SOP_READ_ONLY_QUERIES["appendix A lead history"].replace("<lead-uuid>", a.opted_out[0])
    rows = conn.exec_driver_sql(sql).all()
    assert [(r.action, r.outcome, r.messages_received, r.error_message) for r in rows] == [
        ("de_enrolled", "opted_out", 1, None)
    ]


def test_health_view_reflects_the_runs(conn: Connection, engine: Engine, two_clients) -> None:
    a, b = two_clients
    run(engine, a.client_id, b.client_id)
    conn.execute(
        text("INSERT INTO de_enrollment_runs (client_id, status, error_details) VALUES (:a, 'failed', 'boom')"),
        {"a": a.client_id},
    )
    conn.commit()
    health = {
        r.client_id: r
        for r in conn.execute(
            text(
                "SELECT client_id::text, total_runs_24h, failed_runs_24h, success_rate_24h, hours_since_success"
                " FROM de_enrollment_health"
            )
        )
    }
    assert (health[a.client_id].total_runs_24h, health[a.client_id].failed_runs_24h) == (2, 1)
    assert float(health[a.client_id].success_rate_24h) == 50.0
    assert float(health[b.client_id].success_rate_24h) == 100.0
    assert float(health[b.client_id].hours_since_success) < 0.1


# --- after a full sweep, the SOP's integrity queries find nothing ---------------------------------------------


def test_after_a_full_sweep_sop_integrity_queries_return_nothing(conn: Connection, engine: Engine) -> None:
    from campaign_ops.clients.scope import active_client_ids
    from campaign_ops.demo.seed import seed_demo_data

    seed_demo_data(conn, clients=4, campaigns_per_client=3, leads=3000, seed=9)
    conn.commit()
    assert conn.exec_driver_sql(SOP_STUCK_LEADS).scalar() > 0
    de_enroll_clients(engine, active_client_ids(conn), DeEnrollmentSettings())
    assert conn.exec_driver_sql(SOP_STUCK_LEADS).scalar() == 0
    assert conn.exec_driver_sql(SOP_STATS_MATCH).all() == []
    assert conn.exec_driver_sql(SOP_STATS_DRIFT.replace("%", "%%")).all() == []
    assert conn.exec_driver_sql(SOP_DUPLICATES).all() == []
