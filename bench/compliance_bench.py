"""`make bench`, compliance part: what the triggers on `leads` add to the platform's single-row UPDATEs, and how
long a lead's history takes.

On one seeded database (default 10,000 clients, 1M leads):
(1) the platform's UPDATE as it sends a message (`current_message_position + 1` on one active lead, autocommit,
    one server-side prepared statement: the cheapest way to send it) measured side by side in one run, in
    alternated rounds: no trigger on leads at all (the baseline), the due queue's triggers alone, and every
    trigger on leads (the due queue's and the record of sends after revocation). Printed: median per UPDATE of
    each and the ratios to the baseline. Two workloads: advances that leave the lead not due (almost every
    message) and advances that make it due (its last message).
(2) `campaign-ops lead history` by lead id, by phone and by email (core function, warm): median of 20.
Prints a markdown table.
"""

import argparse
import random
import statistics
import time
from collections.abc import Sequence

from sqlalchemy import Engine, text

from bench.common import admin_exec, admin_url, fresh_copy
from campaign_ops.compliance.core import lead_history
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.demo.seed import seed_demo_data

APP_DB = "co_compliance_bench"
DUE_TRIGGERS = ("leads_mark_due_on_update", "leads_mark_due_on_insert")
# every trigger on leads, whoever owns it, read from the catalog: a trigger added later is counted too
ALL_TRIGGERS_SQL = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'leads'::regclass AND NOT tgisinternal"
UPDATE_SQL = (
    "UPDATE leads SET current_message_position = current_message_position + 1, updated_at = now() WHERE id = $1"
)


def prepare(admin: str, leads: int, clients: int) -> str:
    url = fresh_copy(admin, APP_DB, None)
    migrations.upgrade(url)
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:
        seed_demo_data(conn, clients=clients, campaigns_per_client=2, leads=leads, seed=7)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return url


def pick_leads(engine: Engine, n: int, becoming_due: bool) -> list[str]:
    """Active leads of active clients, not due, whose next message leaves them not due (or makes them due)."""
    edge = "=" if becoming_due else "<"
    with engine.connect() as conn:
        ids = [
            str(i)
            for i in conn.execute(
                text(
                    "SELECT l.id FROM leads l JOIN campaigns c ON c.id = l.campaign_link_id"
                    " JOIN clients cl ON cl.id = l.client_id AND cl.is_active"
                    " WHERE l.is_active AND l.completed_at IS NULL AND NOT l.opted_out AND NOT l.booked_meeting"
                    f" AND l.current_message_position + 1 {edge} jsonb_array_length(c.messages)"
                    " ORDER BY md5(l.id::text) LIMIT :n"
                ),
                {"n": n},
            ).scalars()
        ]
    if len(ids) < n:
        raise SystemExit(f"only {len(ids)} leads fit (wanted {n}): seed more leads")
    return ids


def set_triggers(engine: Engine, on: Sequence[str]) -> None:
    with engine.begin() as conn:
        names = list(conn.execute(text(ALL_TRIGGERS_SQL)).scalars())
        for name in names:
            verb = "ENABLE" if name in on else "DISABLE"
            conn.exec_driver_sql(f'ALTER TABLE leads {verb} TRIGGER "{name}"')


def timed(engine: Engine, leads: list[str], synchronous_commit: bool) -> float:
    """Seconds per UPDATE, one autocommit UPDATE per lead through one prepared statement. Without synchronous
    commit the figure is the server's work alone (no wait for the WAL flush, which on a shared disk varies more
    than the triggers cost)."""
    raw = engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        cur = raw.cursor()
        cur.execute("SELECT set_config('synchronous_commit', %s, false)", ("on" if synchronous_commit else "off",))
        cur.execute(f"PREPARE advance(uuid) AS {UPDATE_SQL}")
        cur.execute("EXECUTE advance(%s)", (leads[0],))  # warm: plan, caches
        started = time.perf_counter()
        for lead in leads[1:]:
            cur.execute("EXECUTE advance(%s)", (lead,))
        elapsed = time.perf_counter() - started
        cur.execute("DEALLOCATE advance")
    finally:
        raw.close()
    return elapsed / (len(leads) - 1)


def undo(engine: Engine, leads: list[str], on: Sequence[str]) -> None:
    """Put the positions back with every trigger off and forget what the triggers wrote: rounds start alike."""
    set_triggers(engine, ())
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE leads SET current_message_position = current_message_position - 1"
                " WHERE id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"ids": leads},
        )
        conn.execute(
            text("DELETE FROM de_enrollment_due_queue WHERE lead_id = ANY(CAST(:ids AS uuid[]))"), {"ids": leads}
        )
    set_triggers(engine, on)


def trigger_overhead(url: str, rows: list[tuple[str, str]], per_round: int, rounds: int) -> None:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        every = tuple(conn.execute(text(ALL_TRIGGERS_SQL)).scalars())
    variants: dict[str, tuple[str, ...]] = {"no trigger": (), "due queue only": DUE_TRIGGERS, "every trigger": every}
    for becoming_due, synchronous_commit in ((False, False), (True, False), (False, True)):
        leads = pick_leads(engine, per_round, becoming_due)
        times: dict[str, list[float]] = {v: [] for v in variants}
        order = list(variants)
        for i in range(rounds):
            random.Random(i).shuffle(order)  # side by side: no variant always first or last
            for variant in order:
                set_triggers(engine, variants[variant])
                times[variant].append(timed(engine, leads, synchronous_commit))
                undo(engine, leads, every)
        base = statistics.median(times["no trigger"])
        due = statistics.median(times["due queue only"])
        all_ = statistics.median(times["every trigger"])
        what = "making the lead due (its last message)" if becoming_due else "leaving the lead not due"
        what += ", synchronous commit " + (
            "on (the platform's commit, WAL flush included)" if synchronous_commit else "off (the server's work alone)"
        )
        rows.append(
            (
                f"(1) single-row UPDATE advancing the position, {what}: no trigger / due queue only / every "
                f"trigger ({', '.join(every)}), median of {rounds} rounds of {per_round}",
                f"{base * 1e6:.0f} / {due * 1e6:.0f} / {all_ * 1e6:.0f} µs: due queue {due / base:.3f}x, "
                f"every trigger {all_ / base:.3f}x",
            )
        )
        print(rows[-1], flush=True)
    engine.dispose()


def history_timing(url: str, rows: list[tuple[str, str]], tries: int = 20) -> None:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        sample = conn.execute(
            text("SELECT id::text, phone, email FROM leads WHERE phone IS NOT NULL AND email IS NOT NULL LIMIT 1")
        ).one()
        for what, kwargs in (
            ("lead id", {"lead_id": sample.id}),
            ("phone", {"phone": sample.phone}),
            ("email", {"email": sample.email}),
        ):
            lead_history(conn, **kwargs)  # type: ignore[arg-type]
            took = []
            for _ in range(tries):
                started = time.perf_counter()
                lead_history(conn, **kwargs)  # type: ignore[arg-type]
                took.append(time.perf_counter() - started)
            conn.rollback()
            rows.append((f"(2) lead history by {what}, median of {tries}", f"{statistics.median(took) * 1000:.1f} ms"))
            print(rows[-1], flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--per-round", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Use the database a --keep run left.")
    args = parser.parse_args()
    admin = admin_url()
    rows: list[tuple[str, str]] = []
    try:
        url = admin.rsplit("/", 1)[0] + f"/{APP_DB}" if args.reuse else prepare(admin, args.leads, args.clients)
        rows.append(("database", f"{args.clients} clients, {args.leads} leads"))
        trigger_overhead(url, rows, args.per_round, args.rounds)
        history_timing(url, rows)
    finally:
        if not args.keep:
            admin_exec(admin, f'DROP DATABASE IF EXISTS "{APP_DB}" WITH (FORCE)')
    print("\n| compliance | figure |\n|---|---|")
    for what, figure in rows:
        print(f"| {what} | {figure} |")


if __name__ == "__main__":
    main()
