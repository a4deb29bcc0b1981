"""What the UI's "Execute" on one asset check costs, with the real service (`campaign-ops dev`'s supervisor: code
server, daemon, webserver on PostgreSQL): a run of the implicit asset job selecting only that check, launched
through GraphQL as the UI does. Prints launch → run success (median of the runs) and where the time goes:
queued (launch → the daemon dequeues it), starting (→ the run worker's RUN_START), step start, step (the check
itself), end (step end → RUN_SUCCESS).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.check_execute_bench
"""

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import admin_url, fresh_copy
from bench.service_bench import start_services
from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.service.dagster_api import FINISHED, REPOSITORY, DagsterApi, wait_for

APP_DB, INSTANCE_DB = "co_check_execute_bench", "co_check_execute_bench_dagster"
PHASES = ("queued", "starting", "to step", "step", "to end")
MARKS = (
    "RunEnqueuedEvent",
    "RunStartingEvent",
    "RunStartEvent",
    "ExecutionStepStartEvent",
    "ExecutionStepSuccessEvent",
    "RunSuccessEvent",
)


def execute_check(api: DagsterApi, asset: str, check: str) -> str:
    """launchPipelineExecution of `__ASSET_JOB` with no asset and one check selected: the UI's "Execute"."""
    data = api.query(
        """mutation($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
             __typename ... on LaunchRunSuccess { run { runId } } ... on Error { message } } }""",
        {
            "params": {
                "mode": "default",
                "runConfigData": {},
                "executionMetadata": {},
                "selector": {
                    **REPOSITORY,
                    "pipelineName": "__ASSET_JOB",
                    "assetSelection": [],
                    "assetCheckSelection": [{"assetKey": {"path": [asset]}, "name": check}],
                },
            }
        },
    )
    result = data["launchPipelineExecution"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def marks(api: DagsterApi, run_id: str) -> dict[str, float]:
    """The first timestamp (s) of each event type of the run."""
    data = api.query(
        """query($id: ID!) { logsForRun(runId: $id, limit: 1000) {
             ... on EventConnection { events { __typename ... on MessageEvent { timestamp } } } } }""",
        {"id": run_id},
    )
    out: dict[str, float] = {}
    for event in data["logsForRun"]["events"]:
        out.setdefault(event["__typename"], float(event["timestamp"]) / 1000)
    return out


def one(api: DagsterApi, asset: str, check: str) -> tuple[float, list[float]]:
    launched = time.time()
    run_id = execute_check(api, asset, check)
    run = wait_for("the check's run", lambda: r if (r := api.run(run_id))["status"] in FINISHED else None, 300, 0.1)
    assert run["status"] == "SUCCESS", api.run_messages(run_id)[-10:]
    seen = marks(api, run_id)
    missing = [m for m in MARKS if m not in seen]
    assert not missing, (missing, sorted(seen))
    times = [launched] + [seen[m] for m in MARKS[1:]]
    return seen["RunSuccessEvent"] - launched, [b - a for a, b in itertools.pairwise(times)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--asset", default="campaigns")
    parser.add_argument("--check", default="stats_drift")
    parser.add_argument("--clients", type=int, default=1000, help="demo clients seeded (dynamic partitions)")
    args = parser.parse_args()
    admin = admin_url()
    app = fresh_copy(admin, APP_DB, None)
    migrations.upgrade(app)
    engine = make_engine(app, pooled=False)
    with engine.begin() as conn:
        seed_demo_data(conn, clients=args.clients, campaigns_per_client=1, leads=50, seed=1)
    engine.dispose()
    instance = fresh_copy(admin, INSTANCE_DB, None)
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as logs:
        services, api = start_services(app, instance, Path(home), Path(logs))
        try:
            results = [one(api, args.asset, args.check) for _ in range(args.runs)]
        finally:
            services.stop()
    totals = [t for t, _ in results]
    print(
        f'"Execute" on {args.asset}/{args.check}, launch → run success: median {statistics.median(totals):.1f} s'
        f" of {len(totals)} ({', '.join(f'{t:.1f}' for t in totals)})"
    )
    for i, name in enumerate(PHASES):
        print(f"  {name:>9}: median {statistics.median(s[i] for _, s in results):.2f} s")


if __name__ == "__main__":
    main()
