"""Event-driven de-enrollment on Kubernetes' terms: each run a pod, on the container layout (prints figures).

PostgreSQL and the code server each in a container of the image (as `make test-deploy` runs them); the daemon is
the chart's (Dagster with dagster-k8s, in deploy/check_chart.sh's virtualenv, on the host), with the instance config
the chart renders (deploy/helm/rendered.yaml: Dagster's storage, K8sRunLauncher, the run queue) pointed at that
PostgreSQL and at a stand-in Kubernetes API server (deploy/k8s_standin.py) that runs each posted Job's pod as a
container of the image on the same network, with the Job's environment and memory limit. Every sensor and schedule
runs as shipped.

On 200,000 leads over 100 clients (nothing due at the start), the due-sensor bench's producer (20 leads/s over the
clients plus one burst of 2,000 in one client, bench/due_sensor_bench.py) for --minutes, once per due-run spacing
(`DE_ENROLLMENT_DUE_RUN_SPACING` on the code server; 0 = the next run as soon as the last one ended): due ->
de-enrolled p50/p95/p99/max, pods per hour (all jobs, and the due runs'), a run's queue -> start and start -> end.
Goal: p95 < 60 s, p99 < 90 s with at most one pod per 30 s of steady load.

    .venv/bin/python -m bench.k8s_due_bench [--spacings 0 30] [--minutes 5]
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, text

from bench import containers as c
from bench.containers import CODE_SERVER_IP, CODE_SERVER_PORT, DB_IP, listening, start_databases
from bench.due_sensor_bench import BURST, RATE, Producer, candidates, pct, prepare, processed
from campaign_ops.db.engine import make_engine
from campaign_ops.de_enrollment.due_defs import SPACING_ENV
from campaign_ops.service.dagster_api import wait_for
from deploy.check_chart import RENDERED, on_database
from deploy.k8s_standin import Containers, StandIn

LOCATION = "campaign_ops"


def daemon_venv() -> Path:
    """deploy/check_chart.sh's virtualenv (Dagster as the project pins it, dagster-postgres, dagster-k8s)."""
    import importlib.metadata as m

    tools = Path(os.environ.get("CHECK_CHART_TOOLS", "/tmp/campaign-ops-chart-check"))
    venv = tools / f"venv-{m.version('dagster')}"
    if not (venv / "bin" / "dagster-daemon").exists():
        raise SystemExit(f"no {venv}: run deploy/check_chart.sh once (it makes it)")
    return venv


def instance_config(work: Path, api_server: str) -> dict[str, Any]:
    """The chart's rendered instance config, its storage on the layout's PostgreSQL, its launcher at the stand-in."""
    return on_database(yaml.safe_load(RENDERED.read_text())["instance"], c.db_url(DB_IP, "dagster"), work, api_server)


def runs_since(instance: Engine, since: float) -> list[dict[str, Any]]:
    """Runs created since `since` (epoch s): job, the due sensor's or not, created/started/ended (epoch s)."""
    with instance.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.pipeline_name, extract(epoch FROM r.create_timestamp)::float8, r.start_time, r.end_time,"
                " r.status,"
                " EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = r.run_id AND t.key = 'campaign_ops/sweep'"
                " AND t.value = 'due_clients') FROM runs r WHERE r.create_timestamp >= to_timestamp(:since)"
                " AT TIME ZONE 'UTC'"
            ),
            {"since": since},
        ).all()
    keys = ("job", "created", "started", "ended", "status", "due")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def in_flight(instance: Engine) -> int:
    with instance.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM runs WHERE status IN ('QUEUED', 'NOT_STARTED', 'STARTING', 'STARTED')")
            ).scalar_one()
        )


def start_code_server(layout: c.Layout, env: dict[str, str], spacing: int) -> str:
    # as the chart's user deployment: the image it reports for run pods, and the instance database's password
    # (a sensor's instance is the daemon's, rebuilt from its reference in the code server)
    extra = {"DAGSTER_CURRENT_IMAGE": c.IMAGE, "DAGSTER_PG_PASSWORD": c.DB_PASSWORD, SPACING_ENV: str(spacing)}
    name = layout.start("code-server", ip=CODE_SERVER_IP, env={**env, **extra})
    wait_for("the code server", lambda: listening(CODE_SERVER_IP, CODE_SERVER_PORT), 180, interval=1)
    return name


def measure(
    layout: c.Layout,
    env: dict[str, str],
    spacing: int,
    minutes: float,
    app: Engine,
    instance: Engine,
    pool: dict[str, list[str]],
    standin: StandIn,
) -> dict[str, str]:
    start_code_server(layout, env, spacing)
    time.sleep(30)  # the daemon reloads the location; first ticks
    wait_for("runs in flight to end", lambda: in_flight(instance) == 0, 600, interval=5)
    pods0, since = len(standin.pods), time.time()
    seconds = minutes * 60
    with Producer(app, pool, seconds, burst_at=seconds / 3) as producer:
        producer.wait()
    steady = time.time() - since
    pods_steady = len(standin.pods) - pods0
    made = list(producer.committed)
    done = wait_for(
        "the due leads to be de-enrolled",
        lambda: d if len(d := processed(app, made)) >= len(made) else None,
        timeout_seconds=600,
        interval=5,
    )
    waits = [max(0.0, done[lead] - at) for lead, at in producer.committed.items()]
    runs = [r for r in runs_since(instance, since) if r["created"] <= since + steady]
    due = [r for r in runs if r["due"]]
    by_job: dict[str, int] = {}
    for run in runs:
        by_job[run["job"]] = by_job.get(run["job"], 0) + 1
    started = [r for r in due if r["started"] and r["ended"]]
    queue_to_start = statistics.median(r["started"] - r["created"] for r in started) if started else float("nan")
    start_to_end = statistics.median(r["ended"] - r["started"] for r in started) if started else float("nan")
    per_hour = 3600 / steady
    figures = {
        "leads made due": f"{len(made)} ({RATE:g}/s + {BURST} burst, {minutes:g} min)",
        "due → de-enrolled p50 / p95 / p99 / max": (
            f"{pct(waits, 0.5):.1f} / {pct(waits, 0.95):.1f} / {pct(waits, 0.99):.1f} / {max(waits):.1f} s"
        ),
        "pods per hour, all (Jobs posted)": f"{pods_steady * per_hour:.0f}",
        "due runs per hour (one pod each)": f"{len(due) * per_hour:.0f}",
        "runs by job in the window": ", ".join(f"{job} {n}" for job, n in sorted(by_job.items())),
        "due run: created → started / started → ended (median)": f"{queue_to_start:.1f} / {start_to_end:.1f} s",
        "due runs failed": str(sum(1 for r in due if r["status"] != "SUCCESS")),
    }
    print(f"\nspacing {spacing} s: " + json.dumps(figures, ensure_ascii=False), flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spacings", type=int, nargs="+", default=[0, 30], help="DE_ENROLLMENT_DUE_RUN_SPACING values")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of each load period")
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--campaigns", type=int, default=300)
    args = parser.parse_args()
    venv = daemon_venv()
    c.build_image()
    print(f"image {c.IMAGE}: {c.image_size_bytes() / 1e6:.0f} MB", flush=True)
    results: dict[int, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp, c.layout() as layout:
        work = Path(tmp)
        work.chmod(0o755)
        _, env = start_databases(layout)
        url = prepare(c.db_url(DB_IP, "postgres"), args.leads, args.clients, args.campaigns)
        env["DATABASE_URL"] = url
        app = make_engine(url, pooled=False)
        instance = make_engine(c.db_url(DB_IP, "dagster"), pooled=False)
        pool = candidates(app)
        print(f"seeded; {sum(map(len, pool.values()))} leads can be made due in {len(pool)} clients", flush=True)

        config_maps: dict[str, dict[str, str]] = {}
        password_secret = yaml.safe_load(RENDERED.read_text())["instance"]["run_launcher"]["config"][
            "postgres_password_secret"
        ]
        secrets = {
            "campaign-ops-database": {"DATABASE_URL": url},
            password_secret: {"postgresql-password": c.DB_PASSWORD},
        }
        pods = Containers(c.PODMAN, layout.network, f"{c.PREFIX}-pod-", c.LIMITS)
        standin = StandIn(work, work, work, config_maps, secrets, containers=pods).start()
        home = work / "home"
        home.mkdir()
        config = instance_config(work, standin.url)
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        config_maps[config["run_launcher"]["config"]["instance_config_map"]] = {"dagster.yaml": yaml.safe_dump(config)}
        workspace = work / "workspace.yaml"
        workspace.write_text(
            yaml.safe_dump(
                {
                    "load_from": [
                        {"grpc_server": {"host": CODE_SERVER_IP, "port": CODE_SERVER_PORT, "location_name": LOCATION}}
                    ]
                }
            )
        )
        daemon_env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_PASSWORD": c.DB_PASSWORD}
        subprocess.run(
            [venv / "bin" / "dagster", "instance", "migrate"], env=daemon_env, check=True, capture_output=True
        )
        daemon = None
        try:
            start_code_server(layout, env, args.spacings[0])
            log = (work / "daemon.log").open("w")
            daemon = subprocess.Popen(
                [venv / "bin" / "dagster-daemon", "run", "-w", str(workspace)],
                env=daemon_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for spacing in args.spacings:
                results[spacing] = measure(layout, env, spacing, args.minutes, app, instance, pool, standin)
        finally:
            if daemon is not None:
                daemon.terminate()
                daemon.wait(timeout=60)
                (c.ARTIFACTS).mkdir(parents=True, exist_ok=True)
                (c.ARTIFACTS / "k8s-due-bench-daemon.log").write_text((work / "daemon.log").read_text())
            standin.stop()
            app.dispose()
            instance.dispose()
    names = [f"spacing {s} s" for s in results]
    print(
        f"\n| due sensor, pods on the stand-in, {args.leads:,} leads, {args.clients} clients | "
        + " | ".join(names)
        + " |"
    )
    print("|---|" + "---|" * len(names))
    for key in next(iter(results.values())):
        print(f"| {key} | " + " | ".join(results[s][key] for s in results) + " |")


if __name__ == "__main__":
    main()
