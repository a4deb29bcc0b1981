"""Bench: stats reconciliation and monthly archival at scale, against plain-SQL baselines.

Data: the demo seed (default 1M leads, 100 clients, 1,000 campaigns) with drift injected into 20% of the
campaigns, and a de-enrollment history of 180 days (a run every 6 hours per client, one lead-log row per lead).
Each figure runs on its own copy of one template database. Prints a markdown table.

    python -m bench.reconciliation_archival [--leads N] [--clients N] [--campaigns N]
"""

import argparse
import time
from collections.abc import Callable

from sqlalchemy import text

from bench.common import admin_exec, admin_url, fresh_copy
from campaign_ops.archival.core import ArchivalSettings, archive_clients
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.db.migrations import run_script
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.reconciliation.core import ReconciliationSettings, reconcile_clients

PREFIX = "co_bench4"
INJECT_DRIFT = """
UPDATE campaigns SET active_leads_count = active_leads_count + 7, booked_count = booked_count + 1
 WHERE abs(hashtext(id::text)) % 5 = 0
"""
HISTORY = """
INSERT INTO de_enrollment_runs (run_at, client_id, status, leads_evaluated, leads_de_enrolled, duration_ms, finished_at)
SELECT now() - make_interval(hours => 6 * s), c.id, 'success', 100, 10, 1500, now() - make_interval(hours => 6 * s)
  FROM clients c CROSS JOIN generate_series(0, 719) AS s
 WHERE c.is_active;
WITH runs AS (
    SELECT id, client_id, run_at, row_number() OVER (PARTITION BY client_id ORDER BY run_at) - 1 AS n,
           count(*) OVER (PARTITION BY client_id) AS total
      FROM de_enrollment_runs
), leads_numbered AS (
    SELECT l.id, l.client_id, l.campaign_link_id, row_number() OVER (PARTITION BY l.client_id ORDER BY l.id) AS n
      FROM leads l JOIN clients c ON c.id = l.client_id AND c.is_active
)
INSERT INTO de_enrollment_lead_log (run_id, lead_id, client_id, campaign_id, enrolled_at, action, messages_received,
                                    processed_at)
SELECT r.id, l.id, l.client_id, l.campaign_link_id, r.run_at - interval '20 days', 'skipped', 2, r.run_at
  FROM leads_numbered l
  JOIN runs r ON r.client_id = l.client_id AND r.n = l.n % r.total;
"""
# The SOP's monthly cleanup with the archive kept (its "nothing lost" version), all clients in one transaction:
# the least work that moves the same rows.
SOP_ARCHIVE = """
INSERT INTO de_enrollment_lead_log_archive
SELECT *, now() FROM de_enrollment_lead_log WHERE processed_at < now() - interval '30 days';
DELETE FROM de_enrollment_lead_log WHERE processed_at < now() - interval '30 days';
INSERT INTO de_enrollment_runs_archive
SELECT r.*, now() FROM de_enrollment_runs r
 WHERE r.run_at < now() - interval '90 days'
   AND NOT EXISTS (SELECT 1 FROM de_enrollment_lead_log l WHERE l.run_id = r.id);
DELETE FROM de_enrollment_runs r
 WHERE r.run_at < now() - interval '90 days'
   AND NOT EXISTS (SELECT 1 FROM de_enrollment_lead_log l WHERE l.run_id = r.id);
"""
# The SOP's "Fix Stats if Minor" extended to all four counters: one UPDATE of every campaign, no log.
SOP_FIX_STATS = """
UPDATE campaigns c SET
  active_leads_count = (SELECT count(*) FROM leads WHERE campaign_link_id = c.id AND is_active AND NOT opted_out),
  completed_leads_count = (SELECT count(*) FROM leads WHERE campaign_link_id = c.id AND completed_at IS NOT NULL),
  opted_out_count = (SELECT count(*) FROM leads WHERE campaign_link_id = c.id AND opted_out),
  booked_count = (SELECT count(*) FROM leads WHERE campaign_link_id = c.id AND booked_meeting);
"""


def build_template(admin: str, leads: int, clients: int, campaigns: int) -> str:
    name = f"{PREFIX}_template"
    url = fresh_copy(admin, name, None)
    migrations.upgrade(url)
    engine = make_engine(url, pooled=False)
    started = time.monotonic()
    with engine.begin() as conn:
        seed_demo_data(conn, clients=clients, campaigns_per_client=campaigns // clients, leads=leads, seed=11)
        conn.execute(text(INJECT_DRIFT))
        run_script(conn, HISTORY)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM leads), (SELECT count(*) FROM de_enrollment_runs),"
                " (SELECT count(*) FROM de_enrollment_lead_log)"
            )
        ).one()
    engine.dispose()
    print(
        f"template: {counts[0]} leads, {counts[1]} runs, {counts[2]} lead-log rows "
        f"in {time.monotonic() - started:.1f} s"
    )
    return name


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.monotonic()
    result = fn()
    return time.monotonic() - started, result


def timed_sql(url: str, script: str) -> float:
    engine = make_engine(url, pooled=False)
    elapsed, _ = timed(lambda: _run_in_transaction(engine, script))
    engine.dispose()
    return elapsed


def _run_in_transaction(engine, script: str) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        run_script(conn, script)


def active_clients(url: str) -> list[str]:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        ids = [str(i) for i in conn.execute(text("SELECT id FROM clients WHERE is_active ORDER BY id")).scalars()]
    engine.dispose()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--campaigns", type=int, default=1000)
    args = parser.parse_args()
    admin = admin_url()
    template = build_template(admin, args.leads, args.clients, args.campaigns)
    rows: list[tuple[str, str]] = []

    url = fresh_copy(admin, f"{PREFIX}_fix", template)
    fix = timed_sql(url, SOP_FIX_STATS)
    rows.append(("(a) SOP Fix Stats, all four counters, every campaign, no log (one UPDATE)", f"{fix:.2f} s"))

    url = fresh_copy(admin, f"{PREFIX}_reconcile", template)
    clients = active_clients(url)
    engine = make_engine(url)
    dry, _ = timed(lambda: reconcile_clients(engine, clients, ReconciliationSettings(dry_run=True)))
    real, sweep = timed(lambda: reconcile_clients(engine, clients, ReconciliationSettings()))
    again, _ = timed(lambda: reconcile_clients(engine, clients, ReconciliationSettings()))
    engine.dispose()
    rows.append(
        (
            f"(b) reconcile, {len(clients)} clients: {sweep.campaigns_drifted} of {sweep.campaigns_checked} campaigns "  # type: ignore[attr-defined]
            f"drifted, total abs difference {sweep.total_abs_difference}, logged then corrected",  # type: ignore[attr-defined]
            f"{real:.2f} s",
        )
    )
    rows.append(("(b) dry run of the same (read only)", f"{dry:.2f} s"))
    rows.append(("(b) again, nothing left to correct", f"{again:.2f} s"))
    rows.append(("(b)/(a) ratio", f"{real / fix:.2f}"))

    url = fresh_copy(admin, f"{PREFIX}_sop_archive", template)
    sop = timed_sql(url, SOP_ARCHIVE)
    rows.append(("(c) SOP cleanup as one transaction for all clients, archiving instead of deleting", f"{sop:.2f} s"))

    url = fresh_copy(admin, f"{PREFIX}_archive", template)
    clients = active_clients(url)
    engine = make_engine(url)
    archived, result = timed(lambda: archive_clients(engine, clients, ArchivalSettings()))
    repeat, _ = timed(lambda: archive_clients(engine, clients, ArchivalSettings()))
    engine.dispose()
    maintenance = result.maintenance  # type: ignore[attr-defined]
    rows.append(
        (
            f"(d) archive, {len(clients)} clients, one transaction each: {result.lead_log_archived} lead-log rows, "  # type: ignore[attr-defined]
            f"{result.runs_archived} runs, then VACUUM once ({maintenance.vacuum_ms / 1000:.2f} s of it)",  # type: ignore[attr-defined]
            f"{archived:.2f} s",
        )
    )
    rows.append(("(d) again, nothing left to move", f"{repeat:.2f} s"))
    rows.append(("(d)/(c) ratio", f"{archived / sop:.2f}"))

    print()
    print(f"| {args.leads:,} leads, {args.clients} clients, {args.campaigns} campaigns | figure |")
    print("|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")
    for name in ("fix", "reconcile", "sop_archive", "archive", "template"):
        admin_exec(admin, f'DROP DATABASE IF EXISTS "{PREFIX}_{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
