"""Runs of de_enrollment_due_sensor per hour while another session holds one client's lock (a bounded measurement).

One database with one client whose leads are due; another session holds that client's advisory lock for the
whole window. The sensor's real function ticks on a real Dagster instance and the real database; each run it asks
for is created on the instance and does what the run's op does (`de_enroll_clients` for its clients: the locked
client is recorded `skipped`). Time is simulated, so an hour takes about a minute: a tick that launched costs
--run-seconds (a run worker's start and the pass: ~10 s under load), one that skipped --tick-seconds (the
sensor's interval), and the client's `de_enrollment_runs` rows are moved that much into the past each step (the
back-off reads the database's clock). Prints the runs per simulated hour.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.held_lock_bench
"""

import argparse

import dagster as dg
from sqlalchemy import text

from bench.common import admin_exec, admin_url, fresh_copy
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.defs import SWEEP_OP_NAME, de_enrollment_sweep_job
from campaign_ops.de_enrollment.due_defs import DUE_SENSOR_NAME, de_enrollment_due_sensor
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.resources import DatabaseResource

DB = "co_held_lock_bench"


def measure(minutes: float, run_seconds: float, tick_seconds: float) -> tuple[int, int]:
    """(runs launched, ticks) over `minutes` of simulated time."""
    admin = admin_url()
    url = fresh_copy(admin, DB, None)
    migrations.upgrade(url)
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:  # one client, a third of its leads due
        seed_demo_data(conn, clients=1, campaigns_per_client=1, leads=15, seed=1)
        client = str(conn.execute(text("SELECT id FROM clients WHERE is_active")).scalar_one())
    holder = engine.connect()
    try:
        holder.execute(text("SELECT pg_advisory_lock(client_lock_key(CAST(:c AS uuid)))"), {"c": client})
        runs = ticks = 0
        elapsed = 0.0
        with dg.instance_for_test() as instance:
            resource = DatabaseResource(url=url)
            while elapsed < minutes * 60:
                context = dg.build_sensor_context(
                    instance=instance, sensor_name=DUE_SENSOR_NAME, resources={"database": resource}
                )
                decision = de_enrollment_due_sensor(context)
                ticks += 1
                step = tick_seconds
                if isinstance(decision, dg.RunRequest):
                    runs += 1
                    step = run_seconds
                    run = instance.create_run_for_job(
                        de_enrollment_sweep_job,
                        run_config=decision.run_config,
                        tags=decision.tags,
                        status=dg.DagsterRunStatus.SUCCESS,
                    )
                    scope = decision.run_config["ops"][SWEEP_OP_NAME]["config"]["client_ids"]
                    de_enroll_clients(engine, scope, DeEnrollmentSettings(), dagster_run_id=run.run_id)
                with engine.begin() as conn:  # time passes for the passes the back-off reads
                    conn.execute(
                        text(
                            "UPDATE de_enrollment_runs SET run_at = run_at - make_interval(secs => :s),"
                            " finished_at = finished_at - make_interval(secs => :s)"
                        ),
                        {"s": step},
                    )
                elapsed += step
    finally:
        holder.close()
        engine.dispose()
        admin_exec(admin, f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    return runs, ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated minutes (default: one hour)")
    parser.add_argument("--run-seconds", type=float, default=10.0, help="a launched run's start and pass")
    parser.add_argument("--tick-seconds", type=float, default=5.0, help="the sensor's interval")
    args = parser.parse_args()
    runs, ticks = measure(args.minutes, args.run_seconds, args.tick_seconds)
    per_hour = runs * 60 / args.minutes
    print(
        f"one client's lock held for {args.minutes:g} simulated min: {runs} due run(s) launched in {ticks} tick(s) "
        f"= {per_hour:.0f} runs/hour (run {args.run_seconds:g} s, tick {args.tick_seconds:g} s)"
    )


if __name__ == "__main__":
    main()
