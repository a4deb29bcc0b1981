"""Reconciliation beside de-enrollment on one client: no deadlock, no correction that undoes de-enrollment's counts."""

import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, text

from bench.sop_queries import SOP_STATS_DRIFT, SOP_STATS_MATCH
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.reconciliation.core import ReconciliationSettings, iter_reconcile_clients, reconcile_clients
from campaign_ops_tests.factories import add_campaign, add_client
from campaign_ops_tests.reconciliation.builders import (
    Leads,
    add_campaign_with_leads,
    counters,
    log_rows,
    refresh_all_counters,
    set_counter,
)


def no_drift_left(conn: Connection, client_id: str) -> bool:
    return conn.execute(text("SELECT count(*) FROM campaign_counter_drift(:c)"), {"c": client_id}).scalar() == 0


def wait_for_advisory_waiter(conn: Connection, timeout: float = 10.0) -> bool:
    """True once some session waits for an advisory lock (the reconciliation, blocked by our writer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = conn.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        ).scalar()
        conn.rollback()
        if waiting:
            return True
        time.sleep(0.05)
    return False


def test_reconciliation_waits_for_a_client_writer_and_keeps_its_counts(conn: Connection, engine: Engine) -> None:
    """A concurrent writer (what de-enrollment does: under the client lock, end leads then refresh the counters of
    their campaigns, in one transaction) holds the client; reconciliation waits, then sees the writer's counts as
    correct and fixes only the drift that was really there."""
    client = add_client(conn)
    touched = add_campaign_with_leads(conn, client, Leads(active=10, completed=2))
    drifting = add_campaign_with_leads(conn, client, Leads(active=6))
    refresh_all_counters(conn)
    set_counter(conn, drifting, "active_leads_count", 14)
    conn.commit()

    with engine.connect() as writer:
        writer.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": client})
        writer.commit()
        writer.execute(
            text(
                "UPDATE leads SET is_active = false, completed_at = now() WHERE id IN"
                " (SELECT id FROM leads WHERE campaign_link_id = :c AND is_active ORDER BY id LIMIT 4)"
            ),
            {"c": touched},
        )
        writer.execute(text("SELECT refresh_campaign_counters(ARRAY[CAST(:c AS uuid)])"), {"c": touched})

        outcome: dict[str, object] = {}
        worker = threading.Thread(
            target=lambda: outcome.update(
                sweep=reconcile_clients(engine, [client], ReconciliationSettings(lock_timeout_seconds=30))
            )
        )
        worker.start()
        assert wait_for_advisory_waiter(conn), "reconciliation did not wait for the client lock"
        assert worker.is_alive()
        writer.commit()  # the de-enrollment-like change lands...
        writer.execute(text("SELECT pg_advisory_unlock(client_lock_key(:c))"), {"c": client})
        writer.commit()  # ...and the client is free
        worker.join(timeout=30)
    assert not worker.is_alive()

    sweep = outcome["sweep"]
    assert sweep.failures == []  # type: ignore[attr-defined]
    [result] = sweep.results  # type: ignore[attr-defined]
    assert [(d.campaign_id, d.counter, d.reported, d.actual) for d in result.drifts] == [
        (drifting, "active_leads_count", 14, 6)
    ]
    assert counters(conn, touched) == (6, 6, 0, 0)  # the writer's counts stand
    assert counters(conn, drifting) == (6, 0, 0, 0)
    assert no_drift_left(conn, client)


def test_busy_client_fails_clearly_and_others_are_reconciled(conn: Connection, engine: Engine) -> None:
    busy, free = add_client(conn, name="Busy Co"), add_client(conn, name="Free Co")
    busy_campaign = add_campaign_with_leads(conn, busy, Leads(active=3))
    free_campaign = add_campaign_with_leads(conn, free, Leads(active=3))
    refresh_all_counters(conn)
    set_counter(conn, busy_campaign, "active_leads_count", 9)
    set_counter(conn, free_campaign, "active_leads_count", 9)
    conn.commit()
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": busy})
        holder.commit()
        started = time.monotonic()
        sweep = reconcile_clients(engine, [busy, free], ReconciliationSettings(lock_timeout_seconds=0.5))
        waited = time.monotonic() - started
        holder.execute(text("SELECT pg_advisory_unlock(client_lock_key(:c))"), {"c": busy})
        holder.commit()
    assert waited < 10
    [failure] = sweep.failures
    assert (failure.client_id, failure.client_name) == (busy, "Busy Co")
    assert "is busy" in failure.error and "0.5 s" in failure.error
    assert [r.client_id for r in sweep.results] == [free]
    assert counters(conn, busy_campaign)[0] == 9  # nothing changed for the busy client
    assert counters(conn, free_campaign)[0] == 3
    assert {r[5] for r in log_rows(conn)} == {free}


def test_a_busy_client_goes_last_so_the_others_do_not_wait_for_it(conn: Connection, engine: Engine) -> None:
    """Over several clients, a busy one is tried briefly, said so, and waited for only after the others; the
    busy clients share one wait of the lock timeout, and the log says who holds each lock as it goes on."""
    busy, other_busy, free = (add_client(conn, name=n) for n in ("Busy Co", "Other Busy Co", "Free Co"))
    for client in (busy, other_busy, free):
        add_campaign_with_leads(conn, client, Leads(active=3))
    refresh_all_counters(conn)
    conn.commit()
    said: list[str] = []
    outcomes: list[tuple[str, str]] = []
    with engine.connect() as holder:
        holder.execute(text("SET application_name = 'held on purpose'"))
        for client in (busy, other_busy):
            holder.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": client})
        holder.commit()
        settings = ReconciliationSettings(lock_timeout_seconds=3)
        started = time.monotonic()
        clients = {busy: "Busy Co", other_busy: "Other Busy Co", free: "Free Co"}
        for outcome in iter_reconcile_clients(engine, clients, settings, say=said.append):
            outcomes.append((outcome.client_id, type(outcome).__name__))
        waited = time.monotonic() - started
        holder.execute(text("SELECT pg_advisory_unlock_all()"))
        holder.commit()
    # the free client is done first although it came last; then the busy ones, after the lock timeout in all
    assert outcomes == [(free, "ClientReconciliation"), (busy, "ClientFailure"), (other_busy, "ClientFailure")]
    assert waited < 2 * 1.0 + 3 + 1.5, waited  # two first tries, then ONE shared wait (not 3 s per busy client)
    assert said[0] == f"client Busy Co ({busy}) is busy (its lock is held): tried again after the others"
    assert said[2] == "2 busy client(s): waiting up to 3 s in all for their locks"
    progress = [line for line in said if line.startswith("still waiting for client Busy Co")]
    assert len(progress) >= 3, said
    assert "held by session" in progress[0] and "held on purpose" in progress[0], progress[0]


def test_a_busy_clients_failure_says_how_long_and_who_holds_its_lock(conn: Connection, engine: Engine) -> None:
    busy, free = add_client(conn, name="Busy Co"), add_client(conn, name="Free Co")
    for client in (busy, free):
        add_campaign_with_leads(conn, client, Leads(active=3))
    refresh_all_counters(conn)
    conn.commit()
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": busy})
        holder.commit()
        sweep = reconcile_clients(engine, [busy, free], ReconciliationSettings(lock_timeout_seconds=2))
        holder.execute(text("SELECT pg_advisory_unlock_all()"))
        holder.commit()
    (failure,) = sweep.failures
    assert failure.error.startswith(f"client {busy} is busy: its lock "), failure.error
    assert "not released within 2 s" in failure.error and "held by session" in failure.error, failure.error


def add_bulk_leads(conn: Connection, client_id: str, campaign_id: str, count: int, seed: int) -> None:
    """`count` leads of a 3-message campaign in mixed states; about a third are due for de-enrollment."""
    conn.execute(
        text(
            """
            INSERT INTO leads (client_id, campaign_link_id, current_message_position, is_active, opted_out,
                               booked_meeting, completed_at, enrolled_at)
            SELECT CAST(:client AS uuid), CAST(:campaign AS uuid),
                   (i * 7 + :seed) % 4,
                   (i + :seed) % 5 <> 0,
                   (i + :seed) % 11 = 0,
                   (i + :seed) % 13 = 0,
                   CASE WHEN (i + :seed) % 5 = 0 THEN now() - interval '3 days' END,
                   now() - interval '20 days'
              FROM generate_series(1, :count) AS i
            """
        ),
        {"client": client_id, "campaign": campaign_id, "count": count, "seed": seed},
    )


def run_together(**work: Callable[[], object]) -> dict[str, object]:
    """Start every callable at the same instant on its own thread; their results by name (fails on a hang)."""
    barrier = threading.Barrier(len(work))
    results: dict[str, object] = {}

    def start(name: str, fn: Callable[[], object]) -> None:
        barrier.wait()
        results[name] = fn()

    threads = [threading.Thread(target=start, args=item) for item in work.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "deadlock or hang"
    assert set(results) == set(work), "a worker raised"
    return results


def test_reconciliation_and_real_de_enrollment_at_once_end_consistent(conn: Connection, engine: Engine) -> None:
    """Both started together on one client, several rounds: never a deadlock or error, and afterwards every
    counter equals the leads (the SOP's drift queries find nothing)."""
    client = add_client(conn)
    campaigns = [add_campaign(conn, client, messages=3) for _ in range(4)]
    refresh_all_counters(conn)
    conn.commit()
    statuses: list[str] = []
    for round_no in range(4):
        for i, campaign in enumerate(campaigns):
            add_bulk_leads(conn, client, campaign, 4000, seed=round_no * 10 + i)
        # drift on top of the new leads' missing counts: reconciliation has work while de-enrollment runs
        conn.execute(
            text("UPDATE campaigns SET booked_count = booked_count + 3 WHERE id = :c"), {"c": campaigns[round_no]}
        )
        conn.commit()
        outcome = run_together(
            de_enrollment=lambda: de_enroll_clients(engine, [client], DeEnrollmentSettings(chunk_size=500)),
            reconciliation=lambda: reconcile_clients(engine, [client], ReconciliationSettings(lock_timeout_seconds=60)),
        )
        assert outcome["reconciliation"].failures == []  # type: ignore[attr-defined]
        [client_pass] = outcome["de_enrollment"].clients  # type: ignore[attr-defined]
        assert client_pass.status in ("success", "skipped"), client_pass.error_details
        statuses.append(client_pass.status)
        if client_pass.status == "skipped":  # reconciliation held the client: the next pass does the work
            [client_pass] = de_enroll_clients(engine, [client], DeEnrollmentSettings()).clients
            assert client_pass.status == "success"
        assert no_drift_left(conn, client), f"round {round_no}: counters differ from the leads"
        conn.rollback()

    for query in (SOP_STATS_DRIFT, SOP_STATS_MATCH):
        assert conn.execute(text(query)).all() == []
    due = conn.execute(
        text(
            "SELECT count(*) FROM leads l JOIN campaigns c ON c.id = l.campaign_link_id WHERE l.is_active"
            " AND l.completed_at IS NULL AND (l.opted_out OR l.booked_meeting"
            " OR l.current_message_position >= jsonb_array_length(c.messages))"
        )
    ).scalar()
    assert due == 0
    print("de-enrollment statuses per round:", statuses)
