"""`make bench`: event-driven de-enrollment (de_enrollment_due_sensor) against the 15-minute schedule alone.

On one seeded database (100 clients; its due leads de-enrolled first, so the queue starts empty):
(0) what the queue's trigger adds to the platform's own UPDATEs of leads: 10k single-row UPDATEs of
    current_message_position (autocommit, as the platform sends messages) and one 10k-row UPDATE, each with the
    triggers on and off, alternated; printed per 10k updates;
then the service as `make dev` starts it (code server, daemon, webserver; the production dagster.yaml):
(1) idle: the service's CPU with nothing due;
(2) a producer on this machine makes leads due at a steady rate (20/s over 100 clients: opt-outs, bookings, last
    messages) plus one burst of 2,000 in one client, for --minutes; then waits until they are de-enrolled. Latency
    per lead = its de-enrollment's processed_at (the lead log) - the producer's commit time (measured outside
    the queue it tests); p50/p95/p99/max, runs launched, the service's CPU seconds per minute;
(3) the same producer with the sensor stopped (only the 15-minute schedule), the service's CPU seconds per minute.
CPU is the code server, daemon, webserver and their run workers (user + system), not PostgreSQL's (shared here).
Prints a markdown table for BENCHMARKS.md. Targets: p95 < 60 s, p99 < 90 s, idle CPU < 5 % of one core.
`--idle-only` runs phase (1) alone, sensor on, with the CPU per service process and the ticks per minute of every
sensor and schedule (from the instance's tick table) and the runs started in the window.
"""

import argparse
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from sqlalchemy import Engine, text

from bench.common import admin_exec, admin_url, fresh_copy
from bench.service_bench import start_services
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.due import settle
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.service.dagster_api import REPOSITORY, DagsterApi, wait_for
from campaign_ops.service.supervisor import DagsterServices

APP_DB = "co_due_bench"
INSTANCE_DB = "co_due_bench_dagster"
SENSOR = "de_enrollment_due_sensor"
SWEEP_JOB = "de_enrollment_sweep_job"
BURST = 2_000
RATE = 20.0  # leads made due per second


def prepare(admin: str, leads: int, clients: int, campaigns: int, name: str = APP_DB) -> str:
    url = fresh_copy(admin, name, None)
    migrations.upgrade(url)
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:
        seed_demo_data(conn, clients=clients, campaigns_per_client=campaigns // clients, leads=leads, seed=7)
    # start from nothing due: the seed's due leads de-enrolled, the queue settled
    with engine.connect() as conn:
        ids = [str(c) for c in conn.execute(text("SELECT id FROM clients WHERE is_active")).scalars()]
    de_enroll_clients(engine, ids, DeEnrollmentSettings())
    with engine.begin() as conn:
        settle(conn, None)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return url


def candidates(engine: Engine) -> dict[str, list[str]]:
    """Per active client, its active leads that are not due (the producer makes them due, each once)."""
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT l.client_id::text, l.id::text FROM leads l JOIN campaigns c ON c.id = l.campaign_link_id"
                " JOIN clients cl ON cl.id = l.client_id AND cl.is_active"
                " WHERE l.is_active AND l.completed_at IS NULL AND NOT l.opted_out AND NOT l.booked_meeting"
                " AND l.current_message_position < jsonb_array_length(c.messages)"
            )
        )
        for client, lead in rows:
            out.setdefault(client, []).append(lead)
    for leads in out.values():
        random.Random(7).shuffle(leads)
    return out


# --- (0) trigger overhead -------------------------------------------------------------------------------------------


def set_triggers(engine: Engine, on: bool) -> None:
    verb = "ENABLE" if on else "DISABLE"
    with engine.begin() as conn:
        for name in ("leads_mark_due_on_update", "leads_mark_due_on_insert"):
            conn.exec_driver_sql(f"ALTER TABLE leads {verb} TRIGGER {name}")


def timed_updates(engine: Engine, leads: list[str], single: bool) -> float:
    """Advance each lead's position by one (most become due: the trigger's full path), then put it back with
    the triggers off and forget what was queued, so every round starts alike."""
    started = time.perf_counter()
    if single:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for lead in leads:
                conn.execute(
                    text("UPDATE leads SET current_message_position = current_message_position + 1 WHERE id = :i"),
                    {"i": lead},
                )
    else:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE leads SET current_message_position = current_message_position + 1"
                    " WHERE id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": leads},
            )
    return time.perf_counter() - started


def undo(engine: Engine, leads: list[str]) -> None:
    set_triggers(engine, False)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE leads SET current_message_position = current_message_position - 1"
                " WHERE id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"ids": leads},
        )
        conn.execute(text("DELETE FROM de_enrollment_due_queue"))
    set_triggers(engine, True)


def trigger_overhead(url: str, pool: dict[str, list[str]], rows: list[tuple[str, str]]) -> None:
    engine = make_engine(url, pooled=False)
    # 100 per client (put back afterwards, so the producer may still take them)
    leads = [lead for ls in pool.values() for lead in ls[:100]][:10_000]
    with engine.connect() as conn:
        becomes_due = conn.execute(
            text(
                "SELECT count(*) FROM leads l JOIN campaigns c ON c.id = l.campaign_link_id"
                " WHERE l.id = ANY(CAST(:ids AS uuid[])) AND l.current_message_position + 1 >= "
                "jsonb_array_length(c.messages)"
            ),
            {"ids": leads},
        ).scalar_one()
    for single in (True, False):
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(5):
            for on in (True, False):
                set_triggers(engine, on)
                times[on].append(timed_updates(engine, leads, single))
                undo(engine, leads)
        on_s, off_s = statistics.median(times[True]), statistics.median(times[False])
        what = "10k single-row UPDATEs (autocommit)" if single else "one UPDATE of 10k rows"
        rows.append(
            (
                f"(0) {what} of current_message_position, {becomes_due} becoming due: triggers off / on (median of 5)",
                f"{off_s * 1000:.0f} ms / {on_s * 1000:.0f} ms: +{(on_s - off_s) * 1000:.0f} ms per 10k "
                f"(+{(on_s / off_s - 1) * 100:.0f} %)",
            )
        )
    engine.dispose()


def sensor_tick_cost(url: str, rows: list[tuple[str, str]], ticks: int = 200) -> None:
    """CPU of the sensor's own evaluation with nothing due (what the code server spends per tick), in this
    process: a figure the whole service's idle CPU, which the other sensors share, is too noisy to isolate."""
    import dagster as dg

    from campaign_ops.de_enrollment.due_defs import de_enrollment_due_sensor
    from campaign_ops.resources import DatabaseResource

    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"database": DatabaseResource(url=url)})
        de_enrollment_due_sensor(context)  # warm: imports, first connection
        started, wall = time.process_time(), time.perf_counter()
        for _ in range(ticks):
            result = de_enrollment_due_sensor(context)
            assert isinstance(result, dg.SkipReason), result
        cpu_ms = (time.process_time() - started) / ticks * 1000
        wall_ms = (time.perf_counter() - wall) / ticks * 1000
    per_minute = cpu_ms * 12 / 1000  # a tick every 5 s
    rows.append(
        (
            "(1) one idle tick of the due sensor, evaluated in process (skip: nothing due)",
            f"{cpu_ms:.1f} ms CPU, {wall_ms:.1f} ms wall: {per_minute:.2f} s/min at one tick per 5 s "
            f"({per_minute / 60 * 100:.2f} % of a core)",
        )
    )


# --- the service ------------------------------------------------------------------------------------------------------


def cpu_seconds(services: DagsterServices) -> float:
    """User + system CPU of every service process and its descendants so far (reaped run workers included in
    their parents' children times)."""
    total = 0.0
    for proc in services.all_descendants():
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def cpu_by_service(services: DagsterServices) -> dict[str, float]:
    """CPU seconds so far per service (its process tree; the code server's includes the run workers it spawned,
    alive or reaped)."""
    out: dict[str, float] = {}
    for name in services.processes:
        total = 0.0
        for proc in services.process_tree(name):
            try:
                t = proc.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        out[name] = total
    return out


def ticks_by_name(instance_url: str, since: float) -> dict[str, tuple[int, float]]:
    """Per sensor/schedule: ticks since `since` (epoch s) and their mean wall seconds, from the instance's tick
    table (the daemon's own record of what it evaluated)."""
    engine = make_engine(instance_url, pooled=False)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT tick_body::jsonb ->> 'job_name' AS name, count(*),"
                " avg((tick_body::jsonb ->> 'end_timestamp')::float8 - (tick_body::jsonb ->> 'timestamp')::float8)"
                " FROM job_ticks WHERE timestamp >= to_timestamp(:since) GROUP BY 1 ORDER BY 2 DESC"
            ),
            {"since": since},
        ).all()
    engine.dispose()
    return {name: (int(n), float(wall or 0)) for name, n, wall in rows}


def idle_only(admin: str, url: str, minutes: float) -> None:
    """The service idle with nothing due: CPU per process and the ticks the daemon evaluated, per minute."""
    instance = fresh_copy(admin, INSTANCE_DB, None)
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as logs:
        services, api = start_services(url, instance, Path(home), Path(logs))
        try:
            time.sleep(30)  # start-up settles (first ticks, partition sync)
            before, t0, since = cpu_by_service(services), time.monotonic(), time.time()
            time.sleep(minutes * 60)
            after, elapsed = cpu_by_service(services), time.monotonic() - t0
            runs = sorted(r["jobName"] for r in api.runs() if (r["startTime"] or 0) >= since)
            ticks = ticks_by_name(instance, since)
        finally:
            services.stop()
    print(f"| idle {minutes:g} min, nothing due ({elapsed:.0f} s) | CPU s/min | % of a core |")
    print("|---|---|---|")
    total = 0.0
    for name in after:
        per_min = (after[name] - before.get(name, 0.0)) / elapsed * 60
        total += per_min
        print(f"| {name} | {per_min:.2f} | {per_min / 60 * 100:.1f} |")
    print(f"| **service** | **{total:.2f}** | **{total / 60 * 100:.1f}** |")
    print(f"\nruns started in the window: {len(runs)} ({', '.join(runs)})\n")
    print("| sensor / schedule | ticks per min | mean tick wall s |")
    print("|---|---|---|")
    for name, (n, wall) in ticks.items():
        print(f"| {name} | {n / elapsed * 60:.1f} | {wall:.3f} |")


def set_sensor(api: DagsterApi, running: bool) -> None:
    data = api.query(
        """query($sel: SensorSelector!) { sensorOrError(sensorSelector: $sel) {
             ... on Sensor { id sensorState { id selectorId status } } } }""",
        {"sel": {**REPOSITORY, "sensorName": SENSOR}},
    )
    sensor = data["sensorOrError"]
    if (sensor["sensorState"]["status"] == "RUNNING") == running:
        return
    if running:
        result = api.query(
            """mutation($sel: SensorSelector!) { startSensor(sensorSelector: $sel) {
                 __typename ... on Error { message } } }""",
            {"sel": {**REPOSITORY, "sensorName": SENSOR}},
        )
        assert result["startSensor"]["__typename"] == "Sensor", result
    else:
        result = api.query(
            """mutation($id: String!) { stopSensor(id: $id) { __typename ... on Error { message } } }""",
            {"id": sensor["sensorState"]["id"]},
        )
        assert result["stopSensor"]["__typename"] == "StopSensorMutationResult", result


@dataclass
class Producer:
    """Makes leads due at a steady rate across the clients (single-row UPDATEs, autocommit) and one burst of
    BURST leads in one client at `burst_at` seconds; remembers when each lead's change committed."""

    engine: Engine
    pool: dict[str, list[str]]
    seconds: float
    burst_at: float | None
    committed: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    CHANGES = (
        "opted_out = true",
        "booked_meeting = true",
        "current_message_position = (SELECT jsonb_array_length(c.messages) FROM campaigns c"
        " WHERE c.id = leads.campaign_link_id)",
    )

    def run(self) -> None:
        rng = random.Random(11)
        clients = sorted(self.pool)
        burst_client = max(clients, key=lambda c: len(self.pool[c]))
        started = time.monotonic()
        n = 0
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            while not self._stop.is_set():
                elapsed = time.monotonic() - started
                if elapsed >= self.seconds:
                    break
                if self.burst_at is not None and elapsed >= self.burst_at:
                    self.burst_at = None
                    burst = [self.pool[burst_client].pop() for _ in range(min(BURST, len(self.pool[burst_client])))]
                    conn.execute(
                        text("UPDATE leads SET opted_out = true WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": burst}
                    )
                    now = time.time()
                    self.committed.update(dict.fromkeys(burst, now))
                client = rng.choice(clients)
                if not self.pool[client]:
                    continue
                lead = self.pool[client].pop()
                conn.execute(text(f"UPDATE leads SET {rng.choice(self.CHANGES)} WHERE id = :i"), {"i": lead})
                self.committed[lead] = time.time()
                n += 1
                pause = started + n / RATE - time.monotonic()
                if pause > 0:
                    time.sleep(pause)

    def __enter__(self) -> "Producer":
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def wait(self) -> None:
        self._thread.join()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def processed(engine: Engine, leads: list[str]) -> dict[str, float]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT lead_id::text, extract(epoch FROM max(processed_at)) FROM de_enrollment_lead_log"
                " WHERE action = 'de_enrolled' AND lead_id = ANY(CAST(:ids AS uuid[])) GROUP BY lead_id"
            ),
            {"ids": leads},
        )
        return {lead: float(at) for lead, at in rows}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def due_runs(api: DagsterApi) -> list[dict]:
    return api.runs(SWEEP_JOB, {"campaign_ops/sweep": "due_clients"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--campaigns", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=5.0, help="Length of each load period (the issue: 5).")
    parser.add_argument("--idle-minutes", type=float, default=2.0)
    parser.add_argument("--tick-only", action="store_true", help="Only the seeded database and the sensor's tick.")
    parser.add_argument(
        "--idle-only", action="store_true", help="Only phase (1), sensor on, broken down per process and tick."
    )
    args = parser.parse_args()
    if args.idle_only:
        try:
            idle_only(admin_url(), prepare(admin_url(), args.leads, args.clients, args.campaigns), args.idle_minutes)
        finally:
            for name in (APP_DB, INSTANCE_DB):
                admin_exec(admin_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    if args.tick_only:
        rows_: list[tuple[str, str]] = []
        try:
            url = prepare(admin_url(), args.leads, args.clients, args.campaigns, name=f"{APP_DB}_tick")
            sensor_tick_cost(url, rows_)
        finally:
            admin_exec(admin_url(), f'DROP DATABASE IF EXISTS "{APP_DB}_tick" WITH (FORCE)')
        print(f"| {rows_[0][0]} | {rows_[0][1]} |")
        return
    admin = admin_url()
    rows: list[tuple[str, str]] = []
    seconds = args.minutes * 60
    try:
        url = prepare(admin, args.leads, args.clients, args.campaigns)
        engine = make_engine(url, pooled=False)
        pool = candidates(engine)
        print(f"seeded; {sum(map(len, pool.values()))} leads can be made due in {len(pool)} clients", flush=True)
        trigger_overhead(url, pool, rows)
        print(rows[-2:], flush=True)
        sensor_tick_cost(url, rows)
        print(rows[-1], flush=True)
        instance = fresh_copy(admin, INSTANCE_DB, None)
        with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as logs:
            services, api = start_services(url, instance, Path(home), Path(logs))
            try:
                time.sleep(20)  # start-up settles (first ticks, partition sync)
                for on in (True, False):  # the whole service idle, then without the due sensor: its own share
                    set_sensor(api, running=on)
                    before, t0 = cpu_seconds(services), time.monotonic()
                    time.sleep(args.idle_minutes * 60)
                    idle = (cpu_seconds(services) - before) / (time.monotonic() - t0)
                    share = f"{idle * 60:.2f} s/min ({idle * 100:.1f} % of a core)"
                    what = "sensor on" if on else "sensor off (all the other sensors and schedules still on)"
                    rows.append((f"(1) idle {args.idle_minutes:g} min, nothing due, {what}: service CPU", share))
                    print(rows[-1], flush=True)
                set_sensor(api, running=True)

                runs_before = len(due_runs(api))
                before, t0 = cpu_seconds(services), time.monotonic()
                with Producer(engine, pool, seconds, burst_at=seconds / 3) as producer:
                    producer.wait()
                load_cpu = (cpu_seconds(services) - before) / (time.monotonic() - t0)
                made = list(producer.committed)
                done = wait_for(
                    "the due leads to be de-enrolled",
                    lambda: d if len(d := processed(engine, made)) >= len(made) else None,
                    timeout_seconds=300,
                    interval=5,
                )
                waits = [max(0.0, done[lead] - at) for lead, at in producer.committed.items()]
                runs = len(due_runs(api)) - runs_before
                label = f"(2) sensor on: {len(made)} leads made due over {args.minutes:g} min (20/s + {BURST} burst)"
                rows.append((label, ""))
                rows.append(
                    (
                        "(2) due → de-enrolled p50 / p95 / p99 / max (target p95 < 60 s, p99 < 90 s)",
                        f"{pct(waits, 0.5):.1f} / {pct(waits, 0.95):.1f} / {pct(waits, 0.99):.1f} / {max(waits):.1f} s",
                    )
                )
                rows.append(("(2) runs launched by the sensor", f"{runs}"))
                rows.append(("(2) service CPU", f"{load_cpu * 60:.1f} s/min ({load_cpu * 100:.0f} % of a core)"))
                print(rows[-4:], flush=True)

                set_sensor(api, running=False)
                before, t0 = cpu_seconds(services), time.monotonic()
                with Producer(engine, pool, seconds, burst_at=seconds / 3) as producer:
                    producer.wait()
                only_schedule = (cpu_seconds(services) - before) / (time.monotonic() - t0)
                still = len(producer.committed) - len(processed(engine, list(producer.committed)))
                rows.append(
                    (
                        f"(3) sensor off, only the 15-minute schedule: same producer, {args.minutes:g} min",
                        f"{only_schedule * 60:.1f} s/min ({only_schedule * 100:.0f} % of a core); "
                        f"{still} of {len(producer.committed)} leads still enrolled at the end",
                    )
                )
                set_sensor(api, running=True)
            finally:
                services.stop()
        engine.dispose()
    finally:
        for name in (APP_DB, INSTANCE_DB):
            admin_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print()
    print(f"| due sensor, {args.leads:,} leads, {args.clients} clients | figure |")
    print("|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
