"""`make bench`, compliance part: what the triggers on `leads` add to the platform's single-row UPDATEs, and how
long a lead's history takes.

On one seeded database (default 10,000 clients, 1M leads):
(1) the platform's UPDATE as it sends a message (`current_message_position + 1` on one active lead, autocommit,
    one server-side prepared statement: the cheapest way to send it) with every trigger on leads (whoever owns it:
    the due queue's, the record of sends after revocation, the sequence length and contacts kept on write) and
    with none, side by side: two sessions, statements interleaved one by one. Printed: the median per UPDATE of
    each and their ratio. Workloads: advances that leave the lead not due (almost every message), with and
    without waiting for the WAL flush, and advances that make it due (its last message). Needs a superuser (the
    session without triggers sets session_replication_role).
(2) `campaign-ops lead history` by lead id, by phone and by email (core function, warm): median of 20.
(3) the pass's person-wide revocation step beside the pass's own de_enroll_leads, for 500 people who opted out,
    each with a second enrollment under the same phone in a national format.
Prints a markdown table.
"""

import argparse
import random
import statistics
import time
from typing import Any

from sqlalchemy import Engine, text

from bench.common import admin_exec, admin_url, fresh_copy
from campaign_ops.compliance.core import lead_history, revoke_person
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.demo.seed import seed_demo_data

APP_DB = "co_compliance_bench"
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


def _session(engine: Engine, *, triggers: bool, synchronous_commit: bool) -> Any:
    """A raw autocommit connection with the platform's UPDATE prepared once (the cheapest way to send it). Without
    triggers: `session_replication_role = replica`, under which PostgreSQL fires no ordinary trigger (nor the
    foreign keys' internal ones, which an UPDATE of these columns does not queue anyway): the same table, the same
    indexes, the same statement, only the triggers left out."""
    raw = engine.raw_connection()
    raw.driver_connection.autocommit = True  # type: ignore[union-attr]
    cur = raw.cursor()
    cur.execute("SELECT set_config('synchronous_commit', %s, false)", ("on" if synchronous_commit else "off",))
    cur.execute("SELECT set_config('session_replication_role', %s, false)", ("origin" if triggers else "replica",))
    cur.execute(f"PREPARE advance(uuid) AS {UPDATE_SQL}")
    return raw


def side_by_side(engine: Engine, leads: list[str], synchronous_commit: bool) -> tuple[list[float], list[float]]:
    """Seconds of each UPDATE without and with every trigger, the two interleaved statement by statement (in a
    random order per pair) on two sessions, so both see the same load on a shared machine."""
    plain = _session(engine, triggers=False, synchronous_commit=synchronous_commit)
    full = _session(engine, triggers=True, synchronous_commit=synchronous_commit)
    rng = random.Random(len(leads))
    off: list[float] = []
    on: list[float] = []
    try:
        cursors = {False: plain.cursor(), True: full.cursor()}
        for c in cursors.values():  # warm: plans, caches
            c.execute("SELECT 1")
        for i in range(0, len(leads) - 1, 2):
            pair = [(False, leads[i]), (True, leads[i + 1])]
            if rng.random() < 0.5:
                pair.reverse()
            for with_triggers, lead in pair:
                started = time.perf_counter()
                cursors[with_triggers].execute("EXECUTE advance(%s)", (lead,))
                (on if with_triggers else off).append(time.perf_counter() - started)
    finally:
        plain.close()
        full.close()
    return off, on


def undo(engine: Engine, leads: list[str]) -> None:
    """Put the positions back with no trigger firing and forget what the triggers wrote: rounds start alike."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
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
        conn.execute(
            text("DELETE FROM compliance_sends_after_revocation WHERE lead_id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": leads},
        )


def trigger_overhead(url: str, rows: list[tuple[str, str]], per_round: int, rounds: int) -> None:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        every = ", ".join(conn.execute(text(ALL_TRIGGERS_SQL + " ORDER BY tgname")).scalars())
    for becoming_due, synchronous_commit in ((False, False), (True, False), (False, True)):
        leads = pick_leads(engine, per_round, becoming_due)
        off: list[float] = []
        on: list[float] = []
        for i in range(rounds):
            random.Random(i).shuffle(leads)  # a lead is updated with triggers in one round, without in another
            o, n = side_by_side(engine, leads, synchronous_commit)
            off += o
            on += n
            undo(engine, leads)
        base, full = statistics.median(off), statistics.median(on)
        what = "making the lead due (its last message)" if becoming_due else "leaving the lead not due"
        commit = "on (the platform's commit: WAL flush)" if synchronous_commit else "off (the server's work alone)"
        rows.append(
            (
                f"(1) single-row UPDATE advancing the position, {what}, synchronous commit {commit}: no trigger / "
                f"every trigger on leads ({every}); median of {len(off)} each, interleaved",
                f"{base * 1e6:.0f} / {full * 1e6:.0f} µs: {full / base:.3f}x "
                f"(means {statistics.fmean(off) * 1e6:.0f} / {statistics.fmean(on) * 1e6:.0f} µs)",
            )
        )
        print(rows[-1], flush=True)
    engine.dispose()


def revocation_step(url: str, rows: list[tuple[str, str]], people: int = 500) -> None:
    """The pass's person-wide step beside the pass's own statement, on the same due clients, in one transaction
    rolled back afterwards: `people` leads opt out, each with a second active enrollment of the same client under
    the same phone written in a national format."""
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        pairs = conn.execute(
            text(
                "SELECT DISTINCT ON (l.client_id) l.id::text AS stopped, s.id::text AS sibling, l.client_id::text"
                " FROM leads l JOIN clients cl ON cl.id = l.client_id AND cl.is_active"
                " JOIN LATERAL (SELECT x.id FROM leads x WHERE x.client_id = l.client_id AND x.id <> l.id"
                "   AND x.is_active AND x.completed_at IS NULL AND NOT x.opted_out LIMIT 1) s ON true"
                " WHERE l.is_active AND l.completed_at IS NULL AND NOT l.opted_out"
                " ORDER BY l.client_id, l.id LIMIT :n"
            ),
            {"n": people},
        ).all()
        clients = [p.client_id for p in pairs]
        conn.execute(
            text(
                "UPDATE leads l SET opted_out = true, phone = '+1415' || lpad(v.n::text, 7, '0')"
                " FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS v(id, n) WHERE l.id = v.id"
            ),
            {"ids": [p.stopped for p in pairs]},
        )
        conn.execute(
            text(
                "UPDATE leads l SET phone = '(415) ' || substr(lpad(v.n::text, 7, '0'), 1, 3) || '-'"
                " || substr(lpad(v.n::text, 7, '0'), 4) FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS v(id, n)"
                " WHERE l.id = v.id"
            ),
            {"ids": [p.sibling for p in pairs]},
        )
        runs = [
            str(r)
            for r in conn.execute(
                text("INSERT INTO de_enrollment_runs (client_id) SELECT unnest(CAST(:c AS uuid[])) RETURNING id"),
                {"c": clients},
            ).scalars()
        ]
        started = time.perf_counter()
        revoked = sum(revoke_person(conn, clients, runs).values())
        step = time.perf_counter() - started
        started = time.perf_counter()
        done = conn.execute(
            text("SELECT sum(de_enrolled) FROM de_enroll_leads(CAST(:c AS uuid[]), CAST(:r AS uuid[]))"),
            {"c": clients, "r": runs},
        ).scalar_one()
        main = time.perf_counter() - started
        conn.rollback()
    engine.dispose()
    rows.append(
        (
            f"(3) a pass over {len(clients)} due clients: the person-wide step / the pass's de_enroll_leads",
            f"{step * 1000:.0f} ms ({revoked} other enrollments revoked) / {main * 1000:.0f} ms ({done} de-enrolled)",
        )
    )
    print(rows[-1], flush=True)


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
    parser.add_argument("--skip-triggers", action="store_true", help="Leave out part (1).")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Use the database a --keep run left.")
    args = parser.parse_args()
    admin = admin_url()
    rows: list[tuple[str, str]] = []
    try:
        url = admin.rsplit("/", 1)[0] + f"/{APP_DB}" if args.reuse else prepare(admin, args.leads, args.clients)
        rows.append(("database", f"{args.clients} clients, {args.leads} leads"))
        if not args.skip_triggers:
            trigger_overhead(url, rows, args.per_round, args.rounds)
        revocation_step(url, rows)
        history_timing(url, rows)
    finally:
        if not args.keep:
            admin_exec(admin, f'DROP DATABASE IF EXISTS "{APP_DB}" WITH (FORCE)')
    print("\n| compliance | figure |\n|---|---|")
    for what, figure in rows:
        print(f"| {what} | {figure} |")


if __name__ == "__main__":
    main()
