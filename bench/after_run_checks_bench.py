"""The delay between a de-enrollment run's end and the integrity checks' results that follow it, with the real
service (`campaign-ops dev`'s supervisor: code server, daemon, webserver on PostgreSQL). A bounded measurement.

(A) sweeps of one client (`de_enrollment_sweep_job`, run config `client_ids`), which evaluate no check themselves:
    the run-status sensor `integrity_checks_after_de_enrollment_sensor` asks for an `integrity_checks_job` run;
    measured from the sweep's end to that run's creation (the sensor's reaction) and to its end (the results).
(B) one-client runs of `de_enrollment_job` (the CLI, the Launchpad) and (C) the same launched as the UI's
    backfill (the job's Partitions tab → Materialize… → Launch backfill: the job's assets selected, so Dagster
    plans their checks): they materialize the client's partitions and evaluate every check of those assets
    themselves; measured from the run's end to the checks' evaluations (negative: there before it ends), and the
    run's length, the price of evaluating them in the run.
Before the in-run evaluation, (B) and (C) went through the sensor as (A) does: their checks read "Not evaluated"
(B) or "Skipped" (C) until then.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.after_run_checks_bench
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.common import admin_url, fresh_copy
from bench.service_bench import JOB, start_services, wait_partitions
from campaign_ops.clients.partition_keys import client_ids_of
from campaign_ops.clients.tags import PARTITION_TAG
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.service.dagster_api import DagsterApi, wait_for

APP_DB, INSTANCE_DB = "co_after_run_bench", "co_after_run_bench_dagster"
CHECKS_JOB = "integrity_checks_job"
SWEEP_JOB = "de_enrollment_sweep_job"


# clients, each with one 3-message campaign and `due` leads at its first message (made due once the due sensor is
# off), set-based
SEED = """
WITH c AS (
    INSERT INTO clients (id, company_name, email, airtable_base_id, is_active)
    SELECT gen_random_uuid(), format('Bench Client %s', lpad(i::text, 3, '0')), format('bench%s@test.example', i),
           format('appbench%s', i), true
      FROM generate_series(0, :clients - 1) AS i
    RETURNING id
), k AS (
    INSERT INTO campaigns (id, client_id, name, messages)
    SELECT gen_random_uuid(), c.id, 'Bench Campaign',
           '[{"step": 1, "body": "m1"}, {"step": 2, "body": "m2"}, {"step": 3, "body": "m3"}]'::jsonb
      FROM c
    RETURNING id, client_id
)
INSERT INTO leads (id, client_id, campaign_link_id, first_name, last_name, current_message_position, is_active,
                   opted_out, booked_meeting, enrolled_at)
SELECT gen_random_uuid(), k.client_id, k.id, 'Bench', 'Lead', 1, true, false, false, now() - interval '10 days'
  FROM k, generate_series(1, :due)
"""


def seed(url: str, clients: int, due: int) -> None:
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:
        conn.execute(text(SEED), {"clients": clients, "due": due})
    engine.dispose()


def make_due(url: str) -> None:
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:
        conn.execute(text("UPDATE leads SET current_message_position = 3"))
    engine.dispose()


def finished(api: DagsterApi, run_id: str, job: str = JOB) -> dict:
    run = api.wait_run_finished(run_id, timeout_seconds=300)
    assert run["status"] == "SUCCESS", api.run_messages(run_id)[-10:]
    return next(r for r in api.runs(job) if r["runId"] == run_id)


def checks_run_after(api: DagsterApi, run_id: str) -> dict:
    return wait_for(
        f"the checks after {run_id}",
        lambda: next(
            (r for r in api.runs(CHECKS_JOB, {"campaign_ops/after_run": run_id}) if r["status"] == "SUCCESS"), None
        ),
        timeout_seconds=300,
        interval=0.5,
    )


def sweeps(api: DagsterApi, client_ids: list[str]) -> list[tuple[float, float, float]]:
    """(A) per run: (checks run created, checks run ended) after the sweep's end, and the sweep's length, in s."""
    out = []
    for client_id in client_ids:
        config = {"ops": {"de_enrollment_sweep": {"config": {"client_ids": [client_id]}}}}
        run = finished(api, api.launch_run(SWEEP_JOB, {}, config), SWEEP_JOB)
        checks = checks_run_after(api, run["runId"])
        out.append(
            (
                checks["creationTime"] - run["endTime"],
                checks["endTime"] - run["endTime"],
                run["endTime"] - run["startTime"],
            )
        )
    return out


def evaluated_after_end(api: DagsterApi, run: dict) -> float:
    """The last of the run's evaluations of three checks, after the run's end (s)."""
    evaluated = [
        e["evaluation"]["timestamp"]
        for asset, check in (
            ("leads", "stuck_leads"),
            ("campaigns", "stats_drift"),
            ("leads", "skipped_de_enrollments"),
        )
        for e in api.check_executions(asset, check, limit=5)
        if e["runId"] == run["runId"] and e["evaluation"]
    ]
    assert len(evaluated) == 3, evaluated
    return max(evaluated) - run["endTime"]


def own_runs(api: DagsterApi, keys: list[str]) -> list[tuple[float, float]]:
    """(B) per run: the checks' results after the run's end, and the run's length, in s."""
    out = []
    for key in keys:
        run = finished(api, api.launch_run(JOB, {PARTITION_TAG: key}, {}))
        out.append((evaluated_after_end(api, run), run["endTime"] - run["startTime"]))
    return out


def ui_runs(api: DagsterApi, keys: list[str]) -> list[tuple[float, float]]:
    """(C) per run: the checks' results after the run's end, and the run's length, in s."""
    out = []
    for key in keys:
        result = api.launch_job_backfill(JOB, [key])
        assert result["__typename"] == "LaunchBackfillSuccess", result
        backfill = wait_for(
            "the backfill's run",
            lambda backfill_id=result["backfillId"]: next(
                (b for b in api.backfills() if b["id"] == backfill_id and b["runs"]), None
            ),
            timeout_seconds=300,
            interval=0.5,
        )
        run = finished(api, backfill["runs"][0]["runId"])
        out.append((evaluated_after_end(api, run), run["endTime"] - run["startTime"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind (one client each)")
    args = parser.parse_args()
    admin = admin_url()
    app = fresh_copy(admin, APP_DB, None)
    migrations.upgrade(app)
    seed(app, clients=3 * args.runs, due=5)
    instance = fresh_copy(admin, INSTANCE_DB, None)
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as logs:
        services, api = start_services(app, instance, Path(home), Path(logs))
        try:
            api.stop_schedule("de_enrollment_sweep_schedule")
            api.stop_sensor("de_enrollment_due_sensor")  # the runs below are the only ones de-enrolling
            keys = wait_partitions(api, 3 * args.runs)
            make_due(app)
            started = time.monotonic()
            a = sweeps(api, client_ids_of(keys[: args.runs]))
            b = own_runs(api, keys[args.runs : 2 * args.runs])
            c = ui_runs(api, keys[2 * args.runs :])
            elapsed = time.monotonic() - started
        finally:
            services.stop()

    def line(label: str, values: list[float]) -> None:
        print(f"| {label} | {statistics.median(values):.1f} s | {max(values):.1f} s |")

    print(f"\n{args.runs} one-client runs of each kind, one at a time ({elapsed:.0f} s in all)\n")
    print("| after a de-enrollment run's end | median | max |")
    print("|---|---|---|")
    line("(A) sweep: the sensor creates the checks run", [x[0] for x in a])
    line("(A) sweep: the checks' results (checks run ended)", [x[1] for x in a])
    line("(B) job's own run: the checks' results (in the run)", [x[0] for x in b])
    line("(C) UI backfill's run: the checks' results (in the run)", [x[0] for x in c])
    line("(A) length of the sweep run", [x[2] for x in a])
    line("(B) length of the run, evaluating the 7 checks in it", [x[1] for x in b])
    line("(C) length of the run, evaluating the 7 checks in it", [x[1] for x in c])
    before, after = statistics.median(x[1] for x in a), statistics.median(x[0] for x in b + c)
    print(
        f"\nrun's end -> its checks' real results, (B) and (C): before {before:.1f} s (through the sensor), "
        f"after {after:.1f} s"
    )


if __name__ == "__main__":
    main()
