"""Bench: the integrity/health checks and the SOP reports at scale, against the SOP's own queries.

Data: the demo seed (default 1M leads, 100 clients, 1,000 campaigns; ~25% of leads stuck) and 180 days of run
history (a run every 6 hours per client). Figures are taken twice: before de-enrollment (many stuck leads) and
after a full de-enrollment sweep (campaign_history and the lead log filled). Prints a markdown table.

    python -m bench.checks_reports [--leads N] [--clients N] [--campaigns N]
"""

import argparse
import time
import warnings
from collections.abc import Callable

import dagster as dg
from sqlalchemy import Connection, text

from bench.sop_queries import SOP_READ_ONLY_QUERIES as SOP
from bench.sop_queries import SOP_STATS_DRIFT, SOP_STUCK_LEADS
from campaign_ops.check_kit.snapshot import read_only_snapshot
from campaign_ops.checks import defs as checks_dagster
from campaign_ops.checks.core import (
    evaluate_duplicate_de_enrollments,
    evaluate_schema_contract,
    evaluate_stats_drift,
    evaluate_stuck_leads,
)
from campaign_ops.checks.health import evaluate_de_enrollment_health
from campaign_ops.clients.scope import active_client_ids
from campaign_ops.clients.tags import RANGE_END_TAG, RANGE_START_TAG
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.reports.core import daily_health_report, weekly_review_report
from campaign_ops.resources import DatabaseResource

from .run_bench import admin_exec, admin_url, fresh_copy

HISTORY = """
INSERT INTO de_enrollment_runs (run_at, client_id, status, leads_evaluated, leads_de_enrolled, duration_ms, finished_at)
SELECT now() - make_interval(hours => 6 * s), c.id,
       CASE WHEN s % 50 = 7 THEN 'failed' ELSE 'success' END, 100, 10, 1500, now() - make_interval(hours => 6 * s)
  FROM clients c CROSS JOIN generate_series(1, 720) AS s
 WHERE c.is_active
"""


def timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    """Best of `repeat` wall times (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.monotonic()
        result = fn()
        best = min(best, time.monotonic() - started)
    return best, result


def measure(conn: Connection, label: str, rows: list[tuple[str, str]]) -> None:
    everyone = active_client_ids(conn)
    one = [everyone[0]]
    conn.rollback()  # each figure in its own read-only snapshot

    def in_snapshot(fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            with read_only_snapshot(conn):
                return fn()

        return run

    for name, evaluate in (
        ("stuck_leads", evaluate_stuck_leads),
        ("stats_drift", evaluate_stats_drift),
        ("duplicate_de_enrollments", evaluate_duplicate_de_enrollments),
        ("de_enrollment_health", evaluate_de_enrollment_health),
    ):
        sweep_s, outcome = timed(in_snapshot(lambda e=evaluate: e(conn, everyone)))
        one_s, _ = timed(in_snapshot(lambda e=evaluate: e(conn, one)))
        rows.append((f"{label}: {name}, all {len(everyone)} clients ({outcome.summary})", f"{sweep_s * 1000:.0f} ms"))  # type: ignore[attr-defined]
        rows.append((f"{label}: {name}, one client", f"{one_s * 1000:.0f} ms"))
    schema_s, _ = timed(in_snapshot(lambda: evaluate_schema_contract(conn)))
    rows.append((f"{label}: schema_contract", f"{schema_s * 1000:.0f} ms"))
    for sop_label, sql in (("SOP stuck-leads query", SOP_STUCK_LEADS), ("SOP stats-drift query", SOP_STATS_DRIFT)):
        sop_s, _ = timed(lambda q=sql: conn.execute(text(q)).all())
        conn.rollback()
        rows.append((f"{label}: {sop_label} verbatim (baseline)", f"{sop_s * 1000:.0f} ms"))
    daily_s, _ = timed(in_snapshot(lambda: daily_health_report(conn)))
    weekly_s, _ = timed(in_snapshot(lambda: weekly_review_report(conn)))
    sop_daily_s, _ = timed(
        lambda: [
            conn.execute(text(SOP[q])).all() for q in ("daily 1 overnight runs", "daily 2 alerts", "daily 3 stuck")
        ]
    )
    conn.rollback()
    rows.append(
        (f"{label}: daily report (SOP's three queries alone: {sop_daily_s * 1000:.0f} ms)", f"{daily_s * 1000:.0f} ms")
    )
    rows.append((f"{label}: weekly report", f"{weekly_s * 1000:.0f} ms"))


def dagster_sweep(url: str, client_ids: list[str]) -> float:
    """The hourly integrity checks as one real in-process run over the clients range."""
    defs = dg.Definitions.merge(checks_dagster.defs, dg.Definitions(resources={"database": DatabaseResource(url=url)}))
    with warnings.catch_warnings(), dg.instance_for_test() as instance:
        warnings.simplefilter("ignore")
        instance.add_dynamic_partitions("clients", client_ids)
        job = defs.resolve_job_def("integrity_checks_job")
        started = time.monotonic()
        result = job.execute_in_process(
            instance=instance, tags={RANGE_START_TAG: client_ids[0], RANGE_END_TAG: client_ids[-1]}
        )
        elapsed = time.monotonic() - started
        assert len(result.get_asset_check_evaluations()) == 3
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--campaigns", type=int, default=1000)
    args = parser.parse_args()
    admin = admin_url()
    url = fresh_copy(admin, "co_bench5", None)
    migrations.upgrade(url)
    engine = make_engine(url, pooled=False)
    started = time.monotonic()
    with engine.begin() as conn:
        seed_demo_data(
            conn, clients=args.clients, campaigns_per_client=args.campaigns // args.clients, leads=args.leads, seed=7
        )
        conn.execute(text(HISTORY))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    print(f"seeded in {time.monotonic() - started:.1f} s", flush=True)

    rows: list[tuple[str, str]] = []
    with engine.connect() as conn:
        clients = active_client_ids(conn)
        conn.rollback()
        measure(conn, "before de-enrollment", rows)
    rows.append(
        (
            "before de-enrollment: integrity_checks_job, one Dagster run over all clients",
            f"{dagster_sweep(url, clients):.1f} s",
        )
    )

    sweep = de_enroll_clients(engine, clients, DeEnrollmentSettings(max_runtime_ms=3_600_000))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    print(f"de-enrolled {sweep.leads_de_enrolled} leads", flush=True)
    with engine.connect() as conn:
        measure(conn, "after de-enrollment", rows)
    rows.append(
        (
            "after de-enrollment: integrity_checks_job, one Dagster run over all clients",
            f"{dagster_sweep(url, clients):.1f} s",
        )
    )
    engine.dispose()

    print()
    print(f"| {args.leads:,} leads, {args.clients} clients, {args.campaigns} campaigns (best of 3) | figure |")
    print("|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")
    admin_exec(admin, 'DROP DATABASE IF EXISTS "co_bench5" WITH (FORCE)')


if __name__ == "__main__":
    main()
