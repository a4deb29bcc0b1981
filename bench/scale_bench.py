"""`make bench`, scale part: the Dagster layer at 100 / 1,000 / 10,000 clients (demo seeder, ~100 leads each;
~35 % of them due as the seeder leaves them, thinned to 1 % at 10,000 clients, the target scenario).

Per size, on a fresh copy and a fresh PostgreSQL Dagster instance (the production dagster.yaml), through
`campaign-ops run-job` (a real run on the instance, in a child process so its peak RSS is its own):
- the first sweep, with the due leads held back: it materializes every client's first pass, once per client;
- the scheduled sweep (`de_enrollment_sweep_job`) with what the seeder left due, then again with nothing due:
  the run's own duration (start to end, as the instance recorded it) and the wall time of the command (with
  the process start-up and imports), event-log rows of the run;
- one all-clients integrity-checks run: asset_check_executions rows and bytes it wrote;
- rows per day at the production cadence (96 sweeps, 24 integrity and 24 health check runs);
- the instance database after a simulated week: the bytes one sweep and one checks run add, times a week of
  them, and what `prune_runs` leaves with a 7-day retention (it deletes everything older).
Prints a markdown table for BENCHMARKS.md.
"""

import argparse
import datetime as dt
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.common import admin_exec, admin_url, fresh_copy
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.retention.core import DEFAULT_RETENTION_DAYS
from campaign_ops.service.environment import INSTANCE_YAML

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


# the leads sql/objects/de_enroll_leads.sql de-enrolls, for thinning the seeder's ~35 % due to a target share
DUE_LEADS = """
SELECT l.id FROM leads l JOIN campaigns c ON c.id = l.campaign_link_id JOIN clients cl ON cl.id = l.client_id
 WHERE cl.is_active AND l.is_active AND l.completed_at IS NULL
   AND (l.opted_out OR l.booked_meeting OR l.current_message_position >= jsonb_array_length(c.messages))
"""


def seed(admin: str, clients: int, leads_per_client: int, due_percent: float | None) -> str:
    url = fresh_copy(admin, "co_scale_data", None)
    migrations.upgrade(url)
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:
        seed_demo_data(conn, clients=clients, campaigns_per_client=2, leads=clients * leads_per_client, seed=7)
        if due_percent is not None:
            # keep about due_percent % of all leads due (deterministic: by a hash of the id); the others go back
            # to the start of their sequence, and the platform's counters are refreshed as it would
            total = conn.execute(text("SELECT count(*) FROM leads")).scalar_one()
            due = conn.execute(text(f"SELECT count(*) FROM ({DUE_LEADS}) d")).scalar_one()
            keep = min(1.0, total * due_percent / 100 / max(due, 1))
            conn.execute(
                text(
                    "UPDATE leads SET current_message_position = 0, opted_out = false, booked_meeting = false"
                    f" WHERE id IN ({DUE_LEADS}) AND abs(hashtext(id::text)) % 10000 >= :keep"
                ),
                {"keep": int(keep * 10000)},
            )
            conn.execute(text("SELECT refresh_campaign_counters(array_agg(id)) FROM campaigns"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return url


def scalar(url: str, sql: str, **params: object) -> object:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        value = conn.execute(text(sql), params).scalar()
    engine.dispose()
    return value


def platform_writes(url: str, *statements: str) -> None:
    """Statements standing for the platform's updates of leads, in one transaction with its counter refresh, then
    `VACUUM ANALYZE` as after seeding (autovacuum's part on a live database: updates leave visibility maps stale)."""
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
        conn.execute(text("SELECT refresh_campaign_counters(array_agg(id)) FROM campaigns"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def hold_back_due_leads(url: str) -> None:
    """Take the due leads back to the start of their sequence, remembering how they were."""
    platform_writes(
        url,
        "CREATE TABLE bench_held_back AS SELECT id, current_message_position, opted_out, booked_meeting"
        f" FROM leads WHERE id IN ({DUE_LEADS})",
        "UPDATE leads SET current_message_position = 0, opted_out = false, booked_meeting = false"
        " WHERE id IN (SELECT id FROM bench_held_back)",
    )


def give_back_due_leads(url: str) -> None:
    """The held-back leads become due again, as the platform's updates would make them."""
    platform_writes(
        url,
        "UPDATE leads l SET current_message_position = b.current_message_position, opted_out = b.opted_out,"
        " booked_meeting = b.booked_meeting FROM bench_held_back b WHERE l.id = b.id",
        "DROP TABLE bench_held_back",
    )


def run_job(job: str, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the run-job child (the process that executes the run), the run id."""
    started = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "campaign-ops"), "run-job", job], env={**os.environ, **env}, capture_output=True, text=True, cwd=ROOT
    )
    elapsed = time.monotonic() - started
    match = re.search(r"\(run ([0-9a-f-]{36})\)", proc.stdout)
    if match is None:
        raise SystemExit(f"run-job {job} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    # ru_maxrss of children is the largest child so far: sizes run in increasing order, so it is this size's
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak_mb, match.group(1)


def run_seconds(dagster_url: str, run: str) -> float:
    """The run's own duration as the instance recorded it (start to end), without the command's start-up."""
    value = scalar(dagster_url, "SELECT end_time - start_time FROM runs WHERE run_id = :r", r=run)
    return float(value)  # type: ignore[arg-type]


def measure(admin: str, clients: int, leads_per_client: int, due_percent: float | None) -> dict[str, float]:
    started = time.monotonic()
    url = seed(admin, clients, leads_per_client, due_percent)
    print(f"{clients} clients seeded in {time.monotonic() - started:.0f} s", flush=True)
    dagster_url = fresh_copy(admin, "co_scale_dagster", None)
    events = "SELECT count(*) FROM event_logs WHERE run_id = :r"
    out: dict[str, float] = {"clients": clients}
    out["leads"] = float(scalar(url, "SELECT count(*) FROM leads"))  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "dagster.yaml").symlink_to(INSTANCE_YAML)
        env = {"DATABASE_URL": url, "DAGSTER_PG_URL": dagster_url, "DAGSTER_HOME": home}
        # the first sweep materializes every client's first pass: measured on its own, the due leads held back
        hold_back_due_leads(url)
        out["first_s"], first_rss, run = run_job("de_enrollment_sweep_job", env)
        out["first_run_s"] = run_seconds(dagster_url, run)
        out["first_events"] = float(scalar(dagster_url, events, r=run))  # type: ignore[arg-type]
        give_back_due_leads(url)
        size0 = float(scalar(dagster_url, "SELECT pg_database_size(current_database())"))  # type: ignore[arg-type]
        out["sweep_s"], out["sweep_rss"], run = run_job("de_enrollment_sweep_job", env)
        out["due"] = float(scalar(url, "SELECT count(*) FROM de_enrollment_lead_log"))  # type: ignore[arg-type]
        out["sweep_events"] = float(scalar(dagster_url, events, r=run))  # type: ignore[arg-type]
        out["sweep_run_s"] = run_seconds(dagster_url, run)
        out["noop_s"], rss, run = run_job("de_enrollment_sweep_job", env)
        out["noop_run_s"] = run_seconds(dagster_url, run)
        out["noop_events"] = float(scalar(dagster_url, events, r=run))  # type: ignore[arg-type]
        size1 = float(scalar(dagster_url, "SELECT pg_database_size(current_database())"))  # type: ignore[arg-type]
        out["checks_s"], rss2, run = run_job("integrity_checks_job", env)
        out["rss"] = max(out["sweep_rss"], first_rss, rss, rss2)
        out["check_rows"] = float(
            scalar(dagster_url, "SELECT count(*) FROM asset_check_executions WHERE run_id = :r", r=run)  # type: ignore[arg-type]
        )
        out["check_bytes"] = float(
            scalar(
                dagster_url,
                "SELECT coalesce(sum(pg_column_size(a.*)), 0) FROM asset_check_executions a WHERE run_id = :r",
                r=run,
            )  # type: ignore[arg-type]
        )
        out["check_events"] = float(scalar(dagster_url, events, r=run))  # type: ignore[arg-type]
        size2 = float(scalar(dagster_url, "SELECT pg_database_size(current_database())"))  # type: ignore[arg-type]
        out["sweep_bytes"] = (size1 - size0) / 2
        out["checks_bytes_run"] = size2 - size1
        # retention: every run is older than a 7-day retention seen from a week later
        os.environ.update(env)
        import dagster as dg

        from campaign_ops.retention.core import prune_runs

        with dg.DagsterInstance.get() as instance:
            week_later = dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)
            out["pruned"] = prune_runs(instance, older_than_days=7, now=week_later).runs
        out["left_events"] = float(scalar(dagster_url, "SELECT count(*) FROM event_logs WHERE run_id <> ''"))  # type: ignore[arg-type]
    for name in ("data", "dagster"):
        admin_exec(admin, f'DROP DATABASE IF EXISTS "co_scale_{name}" WITH (FORCE)')
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--leads-per-client", type=int, default=100)
    parser.add_argument(
        "--due-percent-from-10000",
        type=float,
        default=1.0,
        help="at 10,000 clients and more, keep this %% of the leads due (the target scenario: 1 %%); "
        "smaller sizes keep what the seeder leaves (~35 %%). Negative: the seeder's everywhere.",
    )
    args = parser.parse_args()
    admin = admin_url()
    results = []
    for n in args.sizes.split(","):
        due_percent = args.due_percent_from_10000 if int(n) >= 10_000 and args.due_percent_from_10000 >= 0 else None
        results.append(measure(admin, int(n), args.leads_per_client, due_percent))
        print(results[-1], flush=True)  # each size as it ends: a long curve keeps what it measured
    print()
    print(
        "| clients (leads, due) | "
        + " | ".join(f"{r['clients']:,.0f} ({r['leads']:,.0f}, {r['due']:,.0f})" for r in results)
        + " |"
    )
    print("|---|" + "---|" * len(results))
    rows = [
        (
            "first sweep, nothing due, every client's first pass materialized: run start to end (s)",
            "first_run_s",
            "{:.1f}",
        ),
        ("… `campaign-ops run-job` wall, with process start-up (s)", "first_s", "{:.1f}"),
        ("event-log rows, first sweep", "first_events", "{:,.0f}"),
        ("sweep run, work due: run start to end (s)", "sweep_run_s", "{:.1f}"),
        ("… `campaign-ops run-job` wall, with process start-up (s)", "sweep_s", "{:.1f}"),
        ("sweep run, nothing due: run start to end (s)", "noop_run_s", "{:.1f}"),
        ("… `campaign-ops run-job` wall, with process start-up (s)", "noop_s", "{:.1f}"),
        ("event-log rows, sweep with work", "sweep_events", "{:,.0f}"),
        ("event-log rows, sweep with nothing due", "noop_events", "{:,.0f}"),
        ("all-clients integrity checks run wall (s)", "checks_s", "{:.1f}"),
        ("asset_check_executions rows of that run (3 checks)", "check_rows", "{:,.0f}"),
        ("… their bytes", "check_bytes", "{:,.0f}"),
        ("peak RSS of the run process (MB, target < 250)", "rss", "{:.0f}"),
    ]
    for label, key, fmt in rows:
        print(f"| {label} | " + " | ".join(fmt.format(r[key]) for r in results) + " |")
    per_day = [96 * r["noop_events"] + 48 * r["check_events"] for r in results]
    print("| event-log rows/day (96 quiet sweeps, 48 check runs) | " + " | ".join(f"{v:,.0f}" for v in per_day) + " |")
    week = [(96 * r["sweep_bytes"] + 48 * r["checks_bytes_run"]) * 7 / 1e6 for r in results]
    print("| instance DB growth per week (MB; sweeps with work) | " + " | ".join(f"{v:,.0f}" for v in week) + " |")
    steady = [w * DEFAULT_RETENTION_DAYS / 7 for w in week]
    print(
        f"| instance DB size kept by the default {DEFAULT_RETENTION_DAYS}-day retention (MB, steady state) | "
        + " | ".join(f"{v:,.0f}" for v in steady)
        + " |"
    )
    print(
        "| runs pruned a week later (7-day retention) / event rows left | "
        + " | ".join(f"{r['pruned']:.0f} / {r['left_events']:,.0f}" for r in results)
        + " |"
    )


if __name__ == "__main__":
    main()
