"""`make bench`, retention part: the instance database after a simulated week of the real schedules, and what
`prune_runs_job` leaves of it.

On a fresh PostgreSQL Dagster instance (the production dagster.yaml) and 1,000 seeded clients (~100 leads each):
1. every scheduled job runs once for real (`campaign-ops run-job`, in a child process): the sweep twice (the
   first de-enrolls what the seeder left due, the second is the quiet sweep most ticks are), the checks, reports,
   reconciliation, archival, retention;
2. a week (plus a day) of the schedules' ticks is laid down from those runs: for every tick of every schedule's
   cron in that time, a copy of the job's real run — its `runs`, `run_tags`, `event_logs` and
   `asset_check_executions` rows (every instance table with a run_id), the run id replaced and the timestamps
   moved to the tick. So each simulated run stores what the real one stored, byte for byte;
3. `prune_runs_job` runs for real (execute_in_process on the instance) with a 7-day retention: it deletes the
   oldest day.
Prints the instance tables' size (pg_total_relation_size of every table in the instance database) after the week,
before and after the prune, after VACUUM (the space PostgreSQL reuses for new rows) and after VACUUM FULL (what the
kept runs take: the steady state of a 7-day retention), and the rows per table. The check sensors (the checks
every 5 and 15 minutes, recorded without a run) are laid down the same way: one real tick each, its run-less
evaluation events and check rows copied to every interval of the simulated days. Sensor-launched runs (the due
sensor's, the checks after a sweep) are not simulated: they follow the platform's traffic; one run's bytes are
printed so they can be added.
"""

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, text

from bench.common import admin_exec, admin_url, fresh_copy
from bench.sensor_ticks import record_check_sensor_tick
from campaign_ops.check_kit.dagster_jobs import CHECK_SENSOR_TAG
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.service.environment import INSTANCE_YAML

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SIZE = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname = 'public'
"""


def run_job(job: str, env: dict[str, str]) -> tuple[str | None, float]:
    """The run id of one real run of `job` (None if it did not start) and the command's wall seconds."""
    started = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "campaign-ops"), "run-job", job], env={**os.environ, **env}, capture_output=True, text=True, cwd=ROOT
    )
    match = re.search(r"\(run ([0-9a-f-]{36})\)", proc.stdout)
    if match is None:
        print(f"  {job}: no run ({proc.stderr.strip().splitlines()[-1:] or proc.stdout[-200:]})", flush=True)
    return (match.group(1) if match else None), time.monotonic() - started


def ticks(cron: str, timezone: str, start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    from dagster._utils.schedules import cron_string_iterator

    for tick in cron_string_iterator(start.timestamp(), cron, timezone):
        if tick >= end:
            return
        yield tick


def run_tables(conn: Connection) -> dict[str, list[tuple[str, str]]]:
    """Every instance table with a run_id column: its columns (name, type) but the serial id."""
    rows = conn.execute(
        text(
            """
            SELECT c.table_name, c.column_name, c.data_type
              FROM information_schema.columns c
             WHERE c.table_schema = 'public'
               AND c.table_name IN (SELECT table_name FROM information_schema.columns
                                     WHERE table_schema = 'public' AND column_name = 'run_id')
               AND c.column_default IS DISTINCT FROM ('nextval(''' || c.table_name || '_id_seq''::regclass)')
             ORDER BY c.table_name, c.ordinal_position
            """
        )
    ).all()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, []).append((column, kind))
    return tables


def copy_rows(
    conn: Connection,
    table: str,
    columns: list[tuple[str, str]],
    where: str,
    params: dict,
    ids: list[str],
    shifts: list[float],
) -> None:
    """One copy of `table`'s rows matching `where` per (id, shift): run_id and every text holding `:old` get the new
    id, timestamps move by the shift."""
    values = []
    for column, kind in columns:
        if column == "run_id":
            values.append("CASE WHEN t.run_id = '' THEN '' ELSE g.new_id END")  # run-less rows stay run-less
        elif kind == "text" or kind.startswith("character"):
            values.append(f"replace(t.{column}, :old, g.new_id)")
        elif kind.startswith("timestamp"):
            values.append(f"t.{column} + make_interval(secs => g.shift)")
        elif kind == "double precision" and column.endswith(("_time", "timestamp")):
            values.append(f"t.{column} + g.shift")
        else:
            values.append(f"t.{column}")
    names = ", ".join(c for c, _ in columns)
    # the template rows once, then one copy per (id, shift): never a scan of the table per copy
    conn.execute(
        text(
            f"WITH t AS MATERIALIZED (SELECT * FROM {table} t WHERE {where}) "
            f"INSERT INTO {table} ({names}) SELECT {', '.join(values)} FROM t, "
            "unnest(CAST(:ids AS text[]), CAST(:shifts AS float8[])) AS g(new_id, shift)"
        ),
        {**params, "ids": ids, "shifts": shifts},
    )


def clone(conn: Connection, tables: dict[str, list[tuple[str, str]]], run_id: str, at: list[dt.datetime]) -> None:
    """Copies of one run's rows in every run table, one per time in `at`: new run id (also inside the serialized
    bodies, so Dagster reads them as their own runs), timestamps moved by (time - the run's creation)."""
    created = conn.execute(text("SELECT create_timestamp FROM runs WHERE run_id = :r"), {"r": run_id}).scalar_one()
    ids = [str(uuid.uuid4()) for _ in at]
    shifts = [(t.replace(tzinfo=None) - created).total_seconds() for t in at]
    for table, columns in sorted(tables.items(), key=lambda kv: kv[0] != "runs"):  # the runs first (foreign keys)
        copy_rows(conn, table, columns, "t.run_id = :old", {"old": run_id}, ids, shifts)


# per table: the ids of one check sensor tick's rows (first, last)
TickRows = dict[str, tuple[int, int]]
RUNLESS_TABLES = ("event_logs", "asset_check_executions")


def last_ids(conn: Connection) -> dict[str, int]:
    return {t: int(conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one()) for t in RUNLESS_TABLES}


def clone_runless(
    conn: Connection, tables: dict[str, list[tuple[str, str]]], tick: TickRows, at: list[dt.datetime]
) -> None:
    """Copies of one check sensor tick's rows (its run-less evaluation events and their check rows, by id), one
    per time in `at`, timestamps moved by (time - the tick's)."""
    first, last = tick["event_logs"]
    ticked = conn.execute(
        text("SELECT min(timestamp) FROM event_logs WHERE id BETWEEN :f AND :l"), {"f": first, "l": last}
    )
    base = ticked.scalar_one()
    ids = ["" for _ in at]
    shifts = [(t.replace(tzinfo=None) - base).total_seconds() for t in at]
    for table in RUNLESS_TABLES:
        first, last = tick[table]
        window = {"old": str(uuid.uuid4()), "first": first, "last": last}  # no run id to rename
        copy_rows(conn, table, tables[table], "t.id BETWEEN :first AND :last", window, ids, shifts)


def every(seconds: int, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    count = int((end - start).total_seconds() // seconds)
    return [start + dt.timedelta(seconds=seconds * i) for i in range(count)]


def largest_tables(url: str, n: int = 4) -> str:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
                " JOIN pg_namespace s ON s.oid = c.relnamespace"
                " WHERE c.relkind = 'r' AND s.nspname = 'public' ORDER BY 2 DESC LIMIT :n"
            ),
            {"n": n},
        ).all()
    engine.dispose()
    return ", ".join(f"{name} {size / 1e6:,.0f} MB" for name, size in rows)


def sizes(url: str) -> tuple[int, dict[str, int]]:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        total = int(conn.execute(text(SIZE)).scalar_one())
        counts = {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("runs", "run_tags", "event_logs", "asset_check_executions")
        }
    engine.dispose()
    return total, counts


def vacuum(url: str, full: bool) -> None:
    engine = make_engine(url, pooled=False)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM FULL" if full else "VACUUM")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--leads-per-client", type=int, default=100)
    parser.add_argument("--days", type=int, default=8, help="days of schedule ticks laid down (a week and a day)")
    parser.add_argument("--retention-days", type=int, default=7, help="prune_runs_job's older_than_days")
    args = parser.parse_args()
    bench_started = time.monotonic()
    admin = admin_url()
    url = fresh_copy(admin, "co_retention_data", None)
    migrations.upgrade(url)
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:
        seed_demo_data(
            conn, clients=args.clients, campaigns_per_client=2, leads=args.clients * args.leads_per_client, seed=7
        )
    engine.dispose()
    dagster_url = fresh_copy(admin, "co_retention_dagster", None)
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "dagster.yaml").symlink_to(INSTANCE_YAML)
        env = {"DATABASE_URL": url, "DAGSTER_PG_URL": dagster_url, "DAGSTER_HOME": home}
        os.environ.update(env)
        import dagster as dg

        from campaign_ops.definitions import defs
        from campaign_ops.retention.defs import prune_runs_job

        engine = make_engine(dagster_url, pooled=False)
        # one real tick of each check sensor, recorded as the daemon records it (without a run); before the runs,
        # as the worst case: before any sweep every client "has never run successfully" and health names them all
        check_sensors = [s for s in defs.get_repository_def().sensor_defs if CHECK_SENSOR_TAG in s.tags]
        sensor_ticks: dict[str, TickRows] = {}
        with dg.DagsterInstance.get() as instance:
            for sensor in check_sensors:
                with engine.connect() as conn:
                    before = last_ids(conn)
                record_check_sensor_tick(sensor, instance, defs.resources["database"])
                with engine.connect() as conn:
                    after = last_ids(conn)
                sensor_ticks[sensor.name] = {t: (before[t] + 1, after[t]) for t in RUNLESS_TABLES}
        schedules = sorted(defs.get_repository_def().schedule_defs, key=lambda s: s.name)
        # one real run per scheduled job (the sweep: one with work first, then the quiet one the ticks copy)
        templates: dict[str, str] = {}
        run_seconds = 0.0
        for schedule in schedules:
            jobs = [schedule.job_name] * (2 if schedule.job_name == "de_enrollment_sweep_job" else 1)
            for job in jobs:
                run, seconds = run_job(job, env)
                run_seconds += seconds
                if run:
                    templates[schedule.name] = run
        with engine.connect() as conn:
            real_bytes = {
                name: int(
                    conn.execute(
                        text("SELECT coalesce(sum(pg_column_size(e.*)), 0) FROM event_logs e WHERE run_id = :r"),
                        {"r": run},
                    ).scalar_one()
                )
                for name, run in templates.items()
            }
            for name, tick in sensor_ticks.items():
                first, last = tick["event_logs"]
                real_bytes[name] = int(
                    conn.execute(
                        text(
                            "SELECT coalesce(sum(pg_column_size(e.*)), 0) FROM event_logs e WHERE id BETWEEN :f AND :l"
                        ),
                        {"f": first, "l": last},
                    ).scalar_one()
                )
        size_real, _ = sizes(dagster_url)
        # the simulated days end now, so the real prune job's cutoff (now - retention) falls inside them
        end = dt.datetime.now(dt.UTC).replace(microsecond=0)
        start = end - dt.timedelta(days=args.days)
        week_end = start + dt.timedelta(days=7)
        per_day: dict[str, int] = {}
        simulated = 0
        with engine.begin() as conn:
            tables = run_tables(conn)
        for phase_start, phase_end in ((start, week_end), (week_end, end)):
            with engine.begin() as conn:
                for schedule in schedules:
                    if schedule.name not in templates:
                        continue
                    at = list(
                        ticks(schedule.cron_schedule, schedule.execution_timezone or "UTC", phase_start, phase_end)
                    )
                    if phase_start == start:
                        per_day[schedule.name] = round(len(at) / 7)
                    if at:
                        clone(conn, tables, templates[schedule.name], at)
                        simulated += len(at)
                for sensor in check_sensors:
                    at = every(sensor.minimum_interval_seconds or 30, phase_start, phase_end)
                    if phase_start == start:
                        per_day[sensor.name] = round(len(at) / 7)
                    clone_runless(conn, tables, sensor_ticks[sensor.name], at)
            if phase_end == week_end:
                size_week, rows_week = sizes(dagster_url)
                largest_week = largest_tables(dagster_url)
        size_before, rows_before = sizes(dagster_url)
        started = time.monotonic()
        with dg.DagsterInstance.get() as instance:
            result = prune_runs_job.execute_in_process(
                instance=instance,
                run_config={"ops": {"prune_old_runs": {"config": {"older_than_days": args.retention_days}}}},
            )
        prune_seconds = time.monotonic() - started
        if not result.success:
            raise SystemExit("prune_runs_job failed")
        size_after, rows_after = sizes(dagster_url)
        vacuum(dagster_url, full=False)
        size_vacuum, _ = sizes(dagster_url)
        vacuum(dagster_url, full=True)
        size_full, rows_full = sizes(dagster_url)
        engine.dispose()
    for name in ("data", "dagster"):
        admin_exec(admin, f'DROP DATABASE IF EXISTS "co_retention_{name}" WITH (FORCE)')

    mb = 1e6
    print()
    print(
        f"Scheduled runs and check-sensor ticks per day ({args.clients:,} clients): "
        + ", ".join(f"{k} {v}" for k, v in per_day.items())
    )
    print(f"… {simulated:,} runs laid down over {args.days} days, besides the sensors' evaluations")
    print(
        "Event-log bytes of each real run or sensor tick: "
        + ", ".join(f"{k} {v / 1000:.1f} KB" for k, v in real_bytes.items())
    )
    daily = sorted(((per_day.get(k, 0) * v, k) for k, v in real_bytes.items()), reverse=True)
    print("… times its runs a day: " + ", ".join(f"{k} {b / 1e6:,.1f} MB" for b, k in daily if b))
    print(f"Largest instance tables after the week: {largest_week}")
    print()
    print(
        f"| instance database ({args.clients:,} clients), tables of the Dagster instance "
        "| size | runs | event-log rows | check rows |"
    )
    print("|---|---|---|---|---|")
    print(f"| after the real runs ({len(templates)} jobs, sweep twice) | {size_real / mb:,.1f} MB | | | |")
    for label, size, rows in (
        ("after a simulated week of the schedules and check sensors", size_week, rows_week),
        (f"after {args.days} days, before prune_runs_job", size_before, rows_before),
        (
            f"after prune_runs_job (older_than_days={args.retention_days}, {prune_seconds:.1f} s)",
            size_after,
            rows_after,
        ),
        ("… after VACUUM (freed space reused by new rows)", size_vacuum, rows_after),
        (f"… after VACUUM FULL: steady state of a {args.retention_days}-day retention", size_full, rows_full),
    ):
        print(
            f"| {label} | {size / mb:,.1f} MB | {rows['runs']:,} | {rows['event_logs']:,} | "
            f"{rows['asset_check_executions']:,} |"
        )
    print(f"\nretention bench took {time.monotonic() - bench_started:.0f} s (real runs {run_seconds:.0f} s)")


if __name__ == "__main__":
    main()
