"""The sweep's set-based paths: the triage finds exactly the leads the rules de-enroll, quiet clients get a true
pass without a per-client round trip, a held lock still makes a client `skipped`, groups keep every promise."""

from sqlalchemy import Connection, Engine, event, text

from campaign_ops.de_enrollment import core
from campaign_ops.sqlfiles import load_sql
from campaign_ops_tests.de_enrollment.conftest import make_client, run
from campaign_ops_tests.factories import add_campaign, add_client, add_lead


def test_the_triage_counts_exactly_what_the_rules_de_enroll(conn: Connection, engine: Engine) -> None:
    # a legacy row the constraint now forbids, as the SOP's skipped-leads case has it
    conn.execute(text("ALTER TABLE campaigns DROP CONSTRAINT campaigns_messages_is_array"))
    clients = []
    for shape in range(6):
        client = add_client(conn)
        campaign = add_campaign(conn, client, messages=3)
        broken = add_campaign(conn, client, messages=2)
        conn.execute(text('UPDATE campaigns SET messages = \'{"not": "an array"}\' WHERE id = :c'), {"c": broken})
        for position in range(shape + 2):
            add_lead(conn, client, campaign, position=position)  # due once position >= 3
            add_lead(conn, client, broken, position=position + 5)  # never due: left alone (skipped)
        if shape % 2:
            add_lead(conn, client, campaign, position=0, opted_out=True)
            add_lead(conn, client, broken, position=0, booked=True)  # opted out/booked: due even here
        add_lead(conn, client, campaign, position=9, active=False)  # already ended
        clients.append(client)
    conn.commit()
    triage = {
        r.client_id: (int(r.due), int(r.evaluated), int(r.skipped))
        for r in conn.execute(load_sql(core.__file__, "triage_clients.sql"), {"client_ids": clients})
    }
    conn.commit()
    result = run(engine, *clients, mode="batched")  # the SOP's runbook path, one client at a time
    for r in result.clients:
        assert triage[r.client_id] == (r.leads_de_enrolled, r.leads_evaluated, r.leads_skipped), r
    assert sum(t[0] for t in triage.values()) > 0 and any(t[0] == 0 for t in triage.values())


def test_quiet_clients_get_a_true_success_pass_and_a_held_lock_makes_one_skipped(
    conn: Connection, engine: Engine
) -> None:
    quiet = [make_client(conn, due=0) for _ in range(3)]
    busy = make_client(conn, due=2)
    conn.execute(
        text("UPDATE leads SET opted_out = false, booked_meeting = false WHERE client_id <> :c"), {"c": busy.client_id}
    )
    conn.commit()
    other_worker = engine.connect()
    try:
        other_worker.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": quiet[0].client_id})
        other_worker.commit()
        result = run(engine, *[q.client_id for q in quiet], busy.client_id)
    finally:
        other_worker.close()
    by_client = {r.client_id: r for r in result.clients}
    assert [r.client_id for r in result.clients] == sorted(by_client)  # the sweep's order, whatever the path
    assert by_client[quiet[0].client_id].status == "skipped"
    assert "lock is held" in (by_client[quiet[0].client_id].error_details or "")
    for q in quiet[1:]:
        r = by_client[q.client_id]
        assert (r.status, r.leads_evaluated, r.leads_de_enrolled) == ("success", 5, 0)
    assert (by_client[busy.client_id].status, by_client[busy.client_id].leads_de_enrolled) == ("success", 4)
    rows = conn.execute(
        text("SELECT client_id::text, status, leads_evaluated, finished_at IS NOT NULL FROM de_enrollment_runs")
    ).all()
    assert sorted(rows) == sorted(
        (r.client_id, r.status, r.leads_evaluated, True) for r in result.clients
    )  # one closed row per client pass, with the counts the result reports


def test_a_group_keeps_one_lead_log_row_per_lead_and_true_counters(conn: Connection, engine: Engine) -> None:
    clients = [make_client(conn, due=i % 4) for i in range(core.GROUP_CLIENTS + 5)]  # several groups
    conn.commit()
    result = run(engine, *[c.client_id for c in clients])
    assert all(r.status == "success" for r in result.clients)
    logged = conn.execute(text("SELECT count(*), count(DISTINCT lead_id) FROM de_enrollment_lead_log")).one()
    assert tuple(logged) == (result.leads_de_enrolled, result.leads_de_enrolled)
    assert result.leads_de_enrolled == sum(i % 4 + 2 for i in range(len(clients)))
    drifted = conn.execute(
        text(
            "SELECT count(*) FROM campaigns c WHERE completed_leads_count <>"
            " (SELECT count(*) FROM leads l WHERE l.campaign_link_id = c.id AND l.completed_at IS NOT NULL)"
        )
    ).scalar()
    assert drifted == 0
    again = run(engine, *[c.client_id for c in clients])
    assert again.leads_de_enrolled == 0 and all(r.status == "success" for r in again.clients)


def _sweep_counting_statements(engine: Engine, client_ids: list[str]) -> tuple[int, core.SweepResult]:
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        sweep = run(engine, *client_ids)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statements[0], sweep


def test_a_group_of_due_clients_costs_the_same_statements_whatever_its_number_of_clients(
    conn: Connection, engine: Engine
) -> None:
    """The due clients of a group are worked by a fixed family of statements, not a few statements per client
    (3 and 20 clients, 4 due leads each: both fit the sweep's first group)."""
    few = [make_client(conn, due=2).client_id for _ in range(3)]
    many = [make_client(conn, due=2).client_id for _ in range(20)]
    conn.commit()
    few_statements, few_sweep = _sweep_counting_statements(engine, few)
    many_statements, many_sweep = _sweep_counting_statements(engine, many)
    for sweep, clients in ((few_sweep, few), (many_sweep, many)):
        assert [(r.status, r.leads_de_enrolled, r.completed, r.opted_out, r.booked) for r in sweep.clients] == [
            ("success", 4, 2, 1, 1)
        ] * len(clients)
    assert many_statements == few_statements
    rows = conn.execute(
        text(
            "SELECT r.client_id::text, r.status, r.leads_de_enrolled,"
            " (SELECT count(*) FROM de_enrollment_lead_log g WHERE g.run_id = r.id AND g.action = 'de_enrolled')"
            " FROM de_enrollment_runs r"
        )
    ).all()
    assert sorted(rows) == sorted((c, "success", 4, 4) for c in few + many)  # one row per pass, its own leads
