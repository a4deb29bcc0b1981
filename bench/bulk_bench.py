"""Bulk de-enrollment against the cheapest correct single statement, side by side and alternated.

Seeds one template (1M leads over 100 clients and 1,000 campaigns by default, as run_bench.py), then runs
`--rounds` rounds; each round makes two fresh copies of the template and times (a) bench/baseline.sql on one and
(b) `campaign-ops de-enroll --all` (a child process, as an operator runs it) on the other, the order alternating
from round to round so that the machine's load falls on both alike; each copy is checkpointed before it is timed.
Prints each round's pair and ratio, the median ratio, and the machine's load average. `--keep-template` reuses
the template if it exists (and keeps it).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from bench.common import admin_exec, admin_url
from bench.run_bench import build_template, de_enrolled, timed_child, timed_sql
from campaign_ops.db.urls import with_database

ROOT = Path(__file__).resolve().parents[1]


def settled_copy(admin: str, name: str, template: str) -> str:
    """A copy of the template with nothing left to write back: copied file by file (the default WAL_LOG strategy
    writes the whole database to the WAL, which the next checkpoint, during the timed statement, flushes), then
    a checkpoint, so each contender starts from the same clean state whichever ran before it."""
    admin_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_exec(admin, f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    admin_exec(admin, "CHECKPOINT")
    return with_database(admin, name)


def counters_off(url: str) -> int:
    """Campaigns whose active/completed counters differ from their leads (0 when de-enrollment kept them right)."""
    from sqlalchemy import text

    from campaign_ops.db.engine import make_engine

    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        off = conn.execute(
            text(
                """
                SELECT count(*) FROM campaigns c
                 WHERE c.active_leads_count <> (SELECT count(*) FROM leads l
                                                  WHERE l.campaign_link_id = c.id AND l.is_active
                                                    AND NOT l.opted_out)
                    OR c.completed_leads_count <> (SELECT count(*) FROM leads l
                                                     WHERE l.campaign_link_id = c.id
                                                       AND l.completed_at IS NOT NULL)
                """
            )
        ).scalar_one()
    engine.dispose()
    return int(off)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--template", default="co_bulk_template", help="name of the template database")
    parser.add_argument("--keep-template", action="store_true", help="reuse the template if it exists; keep it")
    args = parser.parse_args()
    admin = admin_url()
    from sqlalchemy import text

    from campaign_ops.db.engine import make_engine

    engine = make_engine(admin, pooled=False)
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": args.template}).first()
    engine.dispose()
    if not (exists and args.keep_template):
        build_template(admin, args.leads, args.clients, args.campaigns, name=args.template)
    cli = str(Path(sys.executable).parent / "campaign-ops")
    baseline_sql = (ROOT / "bench" / "baseline.sql").read_text()
    ratios: list[float] = []
    rows: list[str] = []
    for n in range(args.rounds):
        times: dict[str, float] = {}
        order = ("baseline", "project") if n % 2 == 0 else ("project", "baseline")
        for which in order:
            url = settled_copy(admin, f"{args.template}_{which}", args.template)
            load = os.getloadavg()[0]
            if which == "baseline":
                times[which] = timed_sql(url, baseline_sql)
            else:
                times[which], _, _ = timed_child([cli, "de-enroll", "--all"], {"DATABASE_URL": url})
            leads = de_enrolled(url)
            off = counters_off(url)
            print(
                f"round {n + 1} {which}: {times[which]:.1f} s, {leads} leads de-enrolled, {off} campaigns with "
                f"wrong counters, load {load:.1f} → {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            admin_exec(admin, f'DROP DATABASE IF EXISTS "{args.template}_{which}" WITH (FORCE)')
        ratio = times["project"] / times["baseline"]
        ratios.append(ratio)
        rows.append(
            f"| {n + 1} ({' then '.join(order)}) | {times['baseline']:.1f} s | {times['project']:.1f} s | {ratio:.2f} |"
        )
        time.sleep(1)
    print()
    print("| round | (a) bench/baseline.sql | (b) campaign-ops de-enroll --all | (b)/(a) |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(f"median (b)/(a) over {len(ratios)} rounds: {statistics.median(ratios):.2f} (target ≤ 1.25)")
    if not args.keep_template:
        admin_exec(admin, f'DROP DATABASE IF EXISTS "{args.template}" WITH (FORCE)')


if __name__ == "__main__":
    main()
