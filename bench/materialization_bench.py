"""What the sweep's client materializations cost on the production instance storage (dagster.yaml: PostgreSQL,
one connection pool per process): an op yields 3 partitioned materializations per client, as the sweep does for
clients' first passes, and the time per event is taken inside the op (each event is stored
before the op resumes); then `get_materialized_partitions` of one asset, the sweep's lookup of first passes.
This is the bookkeeping `max_runtime_seconds` (de_enrollment/defs.py) leaves room for.

`python -m bench.materialization_bench --clients 1000 --runs 2`
"""

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from bench.common import admin_exec, admin_url, fresh_copy
from campaign_ops.assets import DE_ENROLLMENT_ASSETS, LEADS
from campaign_ops.service.environment import INSTANCE_YAML


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    admin = admin_url()
    url = fresh_copy(admin, "co_materialization_bench", None)
    keys = [str(uuid.uuid4()) for _ in range(args.clients)]
    seconds: list[float] = []

    @dg.op
    def materialize_clients() -> Iterator[dg.AssetMaterialization | dg.Output[None]]:
        started = time.perf_counter()
        for key in keys:
            for asset in sorted(DE_ENROLLMENT_ASSETS, key=lambda k: k.to_user_string()):
                yield dg.AssetMaterialization(asset_key=asset, partition=key, metadata={"status": "success", "n": 3})
        seconds.append(time.perf_counter() - started)
        yield dg.Output(None)

    @dg.job(executor_def=dg.in_process_executor)
    def materialization_bench_job() -> None:
        materialize_clients()

    events = len(DE_ENROLLMENT_ASSETS) * args.clients
    try:
        with tempfile.TemporaryDirectory() as home:
            (Path(home) / "dagster.yaml").symlink_to(INSTANCE_YAML)
            os.environ.update(DAGSTER_HOME=home, DAGSTER_PG_URL=url)
            with dg.DagsterInstance.get() as instance:
                instance.add_dynamic_partitions("clients", keys)
                for run in range(args.runs):
                    assert materialization_bench_job.execute_in_process(instance=instance).success
                    print(f"run {run + 1}: {events} events in {seconds[-1]:.1f} s", flush=True)
                lookups = []
                for _ in range(5):
                    started = time.perf_counter()
                    found = instance.get_materialized_partitions(LEADS)
                    lookups.append(time.perf_counter() - started)
    finally:
        admin_exec(admin, 'DROP DATABASE IF EXISTS "co_materialization_bench" WITH (FORCE)')
    per_event = [1000 * s / events for s in seconds]
    print()
    print(f"| {args.clients:,} clients, {events:,} events a run, {args.runs} runs | figure |")
    print("|---|---|")
    print(f"| per event, each run | {' / '.join(f'{v:.1f}' for v in per_event)} ms |")
    print(f"| per client (3 events), worst run | {3 * max(per_event):.0f} ms |")
    print(
        f"| `get_materialized_partitions` over {len(found):,} partitions ({args.runs * args.clients:,} events), "
        f"median of 5 | {1000 * statistics.median(lookups):.1f} ms |"
    )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
