"""`make bench`, second part: the service as `make dev` runs it, under the 100-client load.

On copies of run_bench's 1M-lead template (its helpers are imported), with the production dagster.yaml:
(A) the real 15-minute schedule tick: waits for the next quarter hour, then measures the time from the tick to the
    end of the sweep run, the de-enrollment work inside it, and the peak RSS of webserver, daemon, code server and
    run worker while it runs;
(B) the same 99 active clients as one run each — 99 `launchRun`s with a `dagster/partition` tag, what clicking
    "Materialize" on each client's partition does (the UI's backfill of the same partitions is ONE run, because
    de-enrollment has BackfillPolicy.single_run(); that figure is printed too) — through the daemon's queue.
Prints a markdown table for BENCHMARKS.md.
"""

import argparse
import datetime as dt
import os
import socket
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from sqlalchemy import text

from bench.run_bench import admin_exec, admin_url, build_template, de_enrolled, fresh_copy
from campaign_ops.clients.tags import PARTITION_TAG
from campaign_ops.db.engine import make_engine
from campaign_ops.service.dagster_api import DagsterApi, wait_for
from campaign_ops.service.environment import INSTANCE_YAML
from campaign_ops.service.supervisor import DagsterServices, ServicePorts, is_run_worker

JOB = "de_enrollment_job"  # one-client runs and backfills
SWEEP_JOB = "de_enrollment_sweep_job"  # what the schedule launches
SCHEDULE = "de_enrollment_sweep_schedule"
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RssSampler:
    """Peak RSS per service (the process itself) and per run worker, sampled every 0.2 s in a thread."""

    services: DagsterServices
    peaks: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    peak_total: int = 0
    peak_workers: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        total = 0
        workers = 0
        for name in self.services.processes:
            for proc in self.services.process_tree(name):
                try:
                    rss = proc.memory_info().rss
                    worker = is_run_worker(proc)
                except psutil.Error:
                    continue
                total += rss
                if worker:
                    workers += 1
                    self.peaks["run worker"] = max(self.peaks["run worker"], rss)
                elif proc.pid == self.services.processes[name].pid:
                    self.peaks[name] = max(self.peaks[name], rss)
        self.peak_total = max(self.peak_total, total)
        self.peak_workers = max(self.peak_workers, workers)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(0.2)

    def __enter__(self) -> "RssSampler":
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def start_services(app_url: str, instance_url: str, home: Path, logs: Path) -> tuple[DagsterServices, DagsterApi]:
    (home / "dagster.yaml").symlink_to(INSTANCE_YAML)
    env = {"DATABASE_URL": app_url, "DAGSTER_PG_URL": instance_url, "DAGSTER_HOME": str(home)}
    services = DagsterServices({**os.environ, **env}, ServicePorts(free_port(), free_port()), log_dir=logs)
    services.start()
    return services, DagsterApi(services.ports.webserver_url)


def wait_partitions(api: DagsterApi, count: int) -> list[str]:
    return wait_for(
        f"{count} clients partitions",
        lambda: keys if len(keys := api.job_partition_keys(JOB)) == count else None,
        timeout_seconds=300,
        interval=2,
    )


def active_clients(url: str) -> int:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM clients WHERE is_active")).scalar_one()
    engine.dispose()
    return int(count)


def de_enrollment_window_s(url: str, dagster_run_ids: list[str]) -> float:
    """Wall time of the de-enrollment work itself: first pass started to last pass finished, from its run rows."""
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        seconds = conn.execute(
            text(
                "SELECT EXTRACT(EPOCH FROM max(finished_at) - min(run_at)) FROM de_enrollment_runs "
                "WHERE dagster_run_id = ANY(:ids)"
            ),
            {"ids": dagster_run_ids},
        ).scalar_one()
    engine.dispose()
    return float(seconds or 0)


def epoch(value: float | str | None) -> float:
    return float(value) if value is not None else float("nan")


def scheduled_sweep(admin: str, template: str, rows: list[tuple[str, str]]) -> None:
    app = fresh_copy(admin, "co_svc_sweep", template)
    instance = fresh_copy(admin, "co_svc_dagster", None)
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as logs:
        services, api = start_services(app, instance, Path(home), Path(logs))
        try:
            keys = wait_partitions(api, active_clients(app))
            now = time.time()
            tick = now - now % 900 + 900
            print(f"{len(keys)} partitions; waiting for the {dt.datetime.fromtimestamp(tick, dt.UTC):%H:%M} UTC tick")
            time.sleep(max(0.0, tick - time.time() - 20))
            with RssSampler(services) as sampler:
                run = wait_for(
                    "the scheduled sweep run",
                    lambda: next(iter(api.runs(SWEEP_JOB, {"dagster/schedule_name": SCHEDULE})), None),
                    timeout_seconds=180,
                )
                run = api.wait_run_finished(run["runId"], timeout_seconds=1800)
        finally:
            services.stop()
    assert run["status"] == "SUCCESS", run
    work = de_enrollment_window_s(app, [run["runId"]])
    tick_to_end = epoch(run["endTime"]) - tick
    rows.append((f"(A) scheduled sweep, {len(keys)} partitions, one run ({de_enrolled(app)} leads)", ""))
    rows.append(("(A) tick → run started (queue, daemon, launch)", f"{epoch(run['startTime']) - tick:.1f} s"))
    rows.append(("(A) tick → run ended", f"{tick_to_end:.1f} s"))
    rows.append(("(A) de-enrollment work inside the run (first pass start → last pass end)", f"{work:.1f} s"))
    rows.append(("(A) tick-to-end / de-enrollment work (target ≤ 2)", f"{tick_to_end / work:.2f}"))
    for name in ("webserver", "daemon", "code-server", "run worker"):
        rows.append((f"(A) peak RSS {name} (target < 500 MB)", f"{sampler.peaks[name] / MB:.0f} MB"))
    rows.append(("(A) peak RSS of all Dagster processes together", f"{sampler.peak_total / MB:.0f} MB"))


def one_run_per_client(admin: str, template: str, rows: list[tuple[str, str]]) -> None:
    app = fresh_copy(admin, "co_svc_backfill", template)
    instance = fresh_copy(admin, "co_svc_dagster", None)
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as logs:
        services, api = start_services(app, instance, Path(home), Path(logs))
        try:
            api.stop_schedule(SCHEDULE)  # no sweep in the middle of it
            keys = wait_partitions(api, active_clients(app))
            started = time.time()
            with RssSampler(services) as sampler:
                run_ids = [api.launch_run(JOB, {PARTITION_TAG: key}, {}) for key in keys]
                queued = time.time() - started
                runs = [api.wait_run_finished(run_id, timeout_seconds=3600) for run_id in run_ids]
            elapsed = max(epoch(r["endTime"]) for r in runs) - started
            # the UI's "Launch backfill" over the same partitions is one run (BackfillPolicy.single_run()); here
            # the work is done already, so it measures that run's shape: 99 partitions, 297 materializations
            backfill = api.launch_job_backfill(JOB, keys)
            backfill_run = wait_for(
                "the backfill's run",
                lambda: next((b["runs"][0] for b in api.backfills() if b["runs"]), None),
                timeout_seconds=300,
            )
            backfill_run = api.wait_run_finished(backfill_run["runId"], timeout_seconds=1800)
        finally:
            services.stop()
    failed = [r for r in runs if r["status"] != "SUCCESS"]
    assert not failed, failed[:3]
    assert backfill["__typename"] == "LaunchBackfillSuccess", backfill
    work = de_enrollment_window_s(app, run_ids)
    rows.append((f"(B) {len(run_ids)} one-client runs through the queue ({de_enrolled(app)} leads)", ""))
    rows.append((f"(B) launching them ({len(run_ids)} launchRun mutations)", f"{queued:.1f} s"))
    rows.append(("(B) first launch → last run ended", f"{elapsed:.1f} s"))
    rows.append(("(B) de-enrollment work inside those runs (first pass → last pass)", f"{work:.1f} s"))
    rows.append(("(B) elapsed per client (4 runs at a time: max_concurrent_runs)", f"{elapsed / len(run_ids):.2f} s"))
    rows.append(("(B) most run workers at once", f"{sampler.peak_workers}"))
    rows.append(("(B) peak RSS of one run worker", f"{sampler.peaks['run worker'] / MB:.0f} MB"))
    rows.append(("(B) peak RSS of all Dagster processes together", f"{sampler.peak_total / MB:.0f} MB"))
    backfill_seconds = epoch(backfill_run["endTime"]) - epoch(backfill_run["startTime"])
    rows.append(
        (
            f"(B') the UI's backfill of the same {len(keys)} partitions: one run, nothing left to do",
            f"{backfill_seconds:.1f} s",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--skip-schedule", action="store_true", help="Skip (A), which waits for the next tick.")
    args = parser.parse_args()
    admin = admin_url()
    template = build_template(admin, args.leads, args.clients, args.campaigns)
    rows: list[tuple[str, str]] = []
    try:
        if not args.skip_schedule:
            scheduled_sweep(admin, template, rows)
        one_run_per_client(admin, template, rows)
    finally:
        for name in ("co_svc_sweep", "co_svc_backfill", "co_svc_dagster", template):
            admin_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print()
    print(f"| service, {args.leads:,} leads, {args.clients} clients, {args.campaigns} campaigns | figure |")
    print("|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
