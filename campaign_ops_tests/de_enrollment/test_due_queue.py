"""The trigger-kept queue of due leads (sql/objects/de_enrollment_mark_due.sql): it holds exactly the leads the
rule would de-enroll, a pass and
its settle empty it and record each lead's due -> de-enrolled time, and no due lead is lost to concurrent writers."""

import random
import threading
import time
from datetime import timedelta

from sqlalchemy import Connection, Engine, text

from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.due import database_now, due_clients, latency, settle
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops_tests.de_enrollment.conftest import due_by_the_rule, make_client, queued, settle_all
from campaign_ops_tests.factories import add_campaign, add_client, add_lead


def test_the_queue_holds_exactly_what_the_rule_de_enrolls(conn: Connection) -> None:
    a, b = make_client(conn), make_client(conn, due=2)
    inactive = make_client(conn, active=False)
    client = add_client(conn)
    no_campaign = add_lead(conn, client, None, opted_out=True)  # no campaign: the rule leaves it alone
    conn.commit()
    expected = due_by_the_rule(conn)
    assert expected == {*a.due_completed, *a.opted_out, *a.booked, *b.due_completed, *b.opted_out, *b.booked}
    # an inactive client's due leads are queued too (they count again when it comes back), but not reported
    assert queued(conn) == expected | {*inactive.due_completed, *inactive.opted_out, *inactive.booked}
    assert no_campaign not in queued(conn)
    assert {c.client_id: c.due for c in due_clients(conn)} == {a.client_id: 6, b.client_id: 4}


def test_platform_updates_mark_a_lead_when_it_becomes_due_and_only_then(conn: Connection) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=3)
    lead = add_lead(conn, client, campaign, position=0)
    conn.commit()
    for position in (1, 2):  # messages sent, sequence not finished: nothing to do
        conn.execute(text("UPDATE leads SET current_message_position = :p WHERE id = :i"), {"p": position, "i": lead})
        conn.commit()
        assert queued(conn) == set()
    conn.execute(text("UPDATE leads SET first_name = 'Renamed', updated_at = now() WHERE id = :i"), {"i": lead})
    conn.commit()
    assert queued(conn) == set()
    conn.execute(text("UPDATE leads SET current_message_position = 3 WHERE id = :i"), {"i": lead})
    conn.commit()
    assert queued(conn) == {lead}
    first = conn.execute(text("SELECT due_since, version FROM de_enrollment_due_queue")).one()
    conn.execute(text("UPDATE leads SET booked_meeting = true WHERE id = :i"), {"i": lead})  # due already
    conn.commit()
    again = conn.execute(text("SELECT due_since, version FROM de_enrollment_due_queue")).one()
    assert again.due_since == first.due_since and again.version == first.version + 1
    # an ORM saving every column unchanged marks nothing
    conn.execute(
        text("UPDATE leads SET opted_out = opted_out, current_message_position = 3, is_active = true WHERE id = :i"),
        {"i": lead},
    )
    conn.commit()
    assert conn.execute(text("SELECT version FROM de_enrollment_due_queue")).scalar_one() == again.version
    conn.commit()


def test_a_pass_and_its_settle_empty_the_queue_and_record_latency_per_lead(conn: Connection, engine: Engine) -> None:
    a = make_client(conn, due=3)
    conn.commit()
    since = database_now(conn)
    conn.commit()
    de_enroll_clients(engine, [a.client_id], DeEnrollmentSettings(), dagster_run_id="run-1")
    assert len(queued(conn)) == 5  # de-enrolled, not yet settled
    conn.commit()
    with conn.begin():
        settled = settle(conn, [a.client_id])
    assert (settled.recorded, settled.settled) == (5, 5)
    assert queued(conn) == set()
    rows = conn.execute(
        text(
            "SELECT ll.lead_id::text, ll.processed_at - ll.due_since AS waited, q.due_since IS NULL AS gone"
            " FROM de_enrollment_lead_log ll LEFT JOIN de_enrollment_due_queue q ON q.lead_id = ll.lead_id"
            " WHERE ll.action = 'de_enrolled'"
        )
    ).all()
    assert {r.lead_id for r in rows} == {*a.due_completed, *a.opted_out, *a.booked}
    assert all(r.waited is not None and r.waited >= timedelta(0) for r in rows)
    report = latency(conn, since, "run-1")
    assert report.overall is not None and report.overall.leads == 5
    assert set(report.per_client) == {a.client_id}
    assert 0 <= report.overall.p50 <= report.overall.p95 <= report.overall.max
    assert latency(conn, since, "another-run").overall is None
    # settling again changes nothing: each de-enrollment got its due_since once
    conn.commit()
    with conn.begin():
        assert settle(conn, None).recorded == 0
    conn.commit()


def test_a_lead_the_pass_could_not_take_stays_queued_for_the_next_one(conn: Connection, engine: Engine) -> None:
    a = make_client(conn, due=2)
    conn.commit()
    held = a.opted_out[0]
    with engine.connect() as platform:  # the platform holds the lead's row while the pass runs (SKIP LOCKED)
        platform.execute(text("SELECT 1 FROM leads WHERE id = :i FOR UPDATE"), {"i": held})
        de_enroll_clients(engine, [a.client_id], DeEnrollmentSettings())
        settle_all(conn)
        assert queued(conn) == {held}
        platform.commit()
    assert [c.client_id for c in due_clients(conn)] == [a.client_id]
    de_enroll_clients(engine, [a.client_id], DeEnrollmentSettings())
    settle_all(conn)
    assert queued(conn) == set() and due_by_the_rule(conn) == set()


def test_a_lead_that_stops_being_due_leaves_the_queue_without_a_run(conn: Connection) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=3)
    lead = add_lead(conn, client, campaign, position=1, opted_out=True)
    conn.commit()
    assert queued(conn) == {lead}
    conn.execute(text("UPDATE leads SET opted_out = false WHERE id = :i"), {"i": lead})  # the platform corrects it
    conn.commit()
    assert due_clients(conn) == []
    settle_all(conn)
    assert queued(conn) == set()


def test_a_mark_written_while_settle_looks_is_kept(conn: Connection, engine: Engine) -> None:
    """Settle read the lead as not due; the platform makes it due again and commits while settle waits on the
    queue row: the re-check of the row's version keeps the mark (the lead would otherwise wait 15 minutes)."""
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=3)
    lead = add_lead(conn, client, campaign, position=1, opted_out=True)
    conn.execute(text("UPDATE leads SET opted_out = false WHERE id = :i"), {"i": lead})
    conn.commit()
    with engine.connect() as platform:
        platform.execute(text("UPDATE leads SET booked_meeting = true WHERE id = :i"), {"i": lead})  # not committed
        done = threading.Event()

        def settle_in_thread() -> None:
            with engine.connect() as other, other.begin():
                settle(other, None)
            done.set()

        worker = threading.Thread(target=settle_in_thread)
        worker.start()
        waited = 0.0
        while not _waiting_on_a_lock(conn) and waited < 10:  # settle reached the queue row and waits for it
            time.sleep(0.05)
            waited += 0.05
        assert not done.is_set()
        platform.commit()
        worker.join(timeout=10)
    assert done.is_set()
    assert queued(conn) == {lead} and due_by_the_rule(conn) == {lead}


def _waiting_on_a_lock(conn: Connection) -> bool:
    found = conn.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE '%de_enrollment_due_queue%'"
        )
    ).scalar_one()
    conn.commit()
    return bool(found)


def test_concurrent_platform_updates_lose_no_due_lead(conn: Connection, engine: Engine) -> None:
    """Writers make leads due (position to the end, opt-outs, bookings, opt-out corrections) in 3 threads while
    passes and settles run back to back: after the writers stop, every lead the rule would de-enroll is queued,
    and one more pass leaves nothing due."""
    clients = [make_client(conn, due=0, in_progress=30) for _ in range(4)]
    conn.commit()
    leads = [lead for c in clients for lead in c.in_progress]
    stop = threading.Event()
    errors: list[BaseException] = []

    def platform(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with engine.connect() as c:
                while not stop.is_set():
                    lead = rng.choice(leads)
                    change = rng.choice(
                        [
                            "current_message_position = current_message_position + 1",
                            "opted_out = true",
                            "opted_out = false",
                            "booked_meeting = true",
                        ]
                    )
                    c.execute(text(f"UPDATE leads SET {change} WHERE id = :i AND is_active"), {"i": lead})
                    c.commit()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    writers = [threading.Thread(target=platform, args=(seed,)) for seed in range(3)]
    for w in writers:
        w.start()
    passes = 0
    try:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            due = [c.client_id for c in due_clients(conn)]
            conn.commit()
            de_enroll_clients(engine, due, DeEnrollmentSettings())
            settle_all(conn)
            passes += 1
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert not errors, errors
    assert passes > 1
    assert due_by_the_rule(conn) <= queued(conn)
    de_enroll_clients(engine, [c.client_id for c in due_clients(conn)], DeEnrollmentSettings())
    settle_all(conn)
    assert due_by_the_rule(conn) == set() and queued(conn) == set()
    missing = conn.execute(
        text("SELECT count(*) FROM de_enrollment_lead_log WHERE action = 'de_enrolled' AND due_since IS NULL")
    ).scalar_one()
    conn.commit()
    assert missing == 0  # every de-enrollment has its due moment
