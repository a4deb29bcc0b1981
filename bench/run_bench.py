"""`make bench`: de-enrollment on 1M leads over 100 clients and 1,000 campaigns, against the physical limit.

(a) the same work for all clients as the cheapest correct single statement (bench/baseline.sql: UPDATE …
RETURNING feeding the lead-log INSERT and an incremental counter UPDATE), (b) the project's own
de-enrollment of all clients (a subprocess, so its peak RSS is its own), (c) the scheduled sweep as a real
Dagster run on a PostgreSQL instance, and for scale a plain UPDATE that only flips is_active/completed_at.
Each runs on its own copy of one seeded template database. Prints a markdown table for BENCHMARKS.md.
"""

import argparse
import os
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
from campaign_ops.db.migrations import run_script
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.service.environment import INSTANCE_YAML

ROOT = Path(__file__).resolve().parents[1]
PLAIN_UPDATE = """
UPDATE leads l SET is_active = false, completed_at = now()
  FROM campaigns c
 WHERE c.id = l.campaign_link_id AND l.is_active AND l.completed_at IS NULL
   AND l.current_message_position >= jsonb_array_length(c.messages)
"""


def build_template(admin: str, leads: int, clients: int, campaigns: int, name: str = "co_bench_template") -> str:
    url = fresh_copy(admin, name, None)
    migrations.upgrade(url)
    engine = make_engine(url, pooled=False)
    started = time.monotonic()
    with engine.begin() as conn:
        summary = seed_demo_data(conn, clients=clients, campaigns_per_client=campaigns // clients, leads=leads, seed=7)
    print(
        f"seeded {summary.leads} leads ({summary.completable} completable, {summary.opted_out_waiting} opted out, "
        f"{summary.booked_waiting} booked waiting) in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return name


def timed_sql(url: str, script: str) -> float:
    engine = make_engine(url, pooled=False)
    started = time.monotonic()
    with engine.begin() as conn:
        run_script(conn, script)
    elapsed = time.monotonic() - started
    engine.dispose()
    return elapsed


def timed_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the child, its stdout."""
    started = time.monotonic()
    proc = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak_mb, proc.stdout


def de_enrolled(url: str) -> int:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM de_enrollment_lead_log")).scalar_one()
    engine.dispose()
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--campaigns", type=int, default=1000)
    args = parser.parse_args()
    admin = admin_url()
    template = build_template(admin, args.leads, args.clients, args.campaigns)
    bin_dir = Path(sys.executable).parent
    rows: list[tuple[str, str]] = []

    url = fresh_copy(admin, "co_bench_plain", template)
    plain = timed_sql(url, PLAIN_UPDATE)
    rows.append(("plain UPDATE of completable leads only (no history, log, counters; for scale)", f"{plain:.1f} s"))

    url = fresh_copy(admin, "co_bench_baseline", template)
    baseline = timed_sql(url, (ROOT / "bench" / "baseline.sql").read_text())
    rows.append((f"(a) one set-based statement, same work ({de_enrolled(url)} leads)", f"{baseline:.1f} s"))

    url = fresh_copy(admin, "co_bench_project", template)
    project, rss, _ = timed_child([str(bin_dir / "campaign-ops"), "de-enroll", "--all"], {"DATABASE_URL": url})
    rows.append((f"(b) campaign-ops de-enroll --all ({de_enrolled(url)} leads)", f"{project:.1f} s"))
    rows.append(("(b)/(a) ratio (target ≤ 1.25)", f"{project / baseline:.2f}"))
    rows.append(("(b) peak RSS (target < 250 MB)", f"{rss:.0f} MB"))

    url = fresh_copy(admin, "co_bench_sweep", template)
    dagster_url = fresh_copy(admin, "co_bench_dagster", None)
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "dagster.yaml").symlink_to(INSTANCE_YAML)
        sweep, _, _ = timed_child(
            [str(bin_dir / "campaign-ops"), "run-job", "de_enrollment_sweep_job"],
            {"DATABASE_URL": url, "DAGSTER_PG_URL": dagster_url, "DAGSTER_HOME": home},
        )
    rows.append(
        (
            f"(c) scheduled sweep as one Dagster run, {args.clients} partitions ({de_enrolled(url)} leads)",
            f"{sweep:.1f} s",
        )
    )
    rows.append(("(c)/(b) ratio (target ≤ 2)", f"{sweep / project:.2f}"))
    rows.append(("(c) Dagster overhead over (b)", f"{sweep - project:.1f} s"))

    print()
    print(f"| {args.leads:,} leads, {args.clients} clients, {args.campaigns} campaigns | figure |")
    print("|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")
    for name in ("plain", "baseline", "project", "sweep", "dagster", "template"):
        admin_exec(admin, f'DROP DATABASE IF EXISTS "co_bench_{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
