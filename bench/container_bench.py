"""The container layout of `make test-deploy`, idle, once per instance storage (prints figures, asserts nothing).

For the project's pooled storage (dagster.yaml's `PooledPostgresStorage`) and Dagster's own `storage: postgres`
(the chart's daemon and webserver use it): code server, webserver and daemon each in its own container of the
image, every automation as shipped, on a migrated empty app database. After a warm-up, over a window: sessions
opened on the instance database per minute (PostgreSQL's pg_stat_database.sessions, less the bench's own reads),
CPU seconds per minute and RSS of each container's processes
(PostgreSQL's too). Also the image's size and build time (cached).

    .venv/bin/python -m bench.container_bench [--window 120] [--warmup 60]
"""

import argparse
import tempfile
import time
from pathlib import Path

import psutil
import yaml
from sqlalchemy import Engine

from bench import containers as c
from bench.containers import (
    CODE_SERVER_IP,
    DAEMON_COMMAND,
    DAEMON_IP,
    DB_IP,
    WEBSERVER_COMMAND,
    WEBSERVER_IP,
    location_loaded,
    start_databases,
)
from campaign_ops.db.engine import make_engine
from campaign_ops.service.dagster_api import DagsterApi, wait_for
from campaign_ops.service.environment import INSTANCE_YAML

MB = 1024 * 1024
INSTANCE_YAML_IN_IMAGE = "/opt/dagster/dagster_home/dagster.yaml"
SESSIONS = "SELECT sessions FROM pg_stat_database WHERE datname = 'dagster'"


def storages(work: Path) -> dict[str, Path | None]:
    """None: the image's own dagster.yaml (pooled); else a copy with Dagster's `storage: postgres`."""
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    config["storage"] = {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    plain = work / "dagster-postgres-storage.yaml"
    plain.write_text(yaml.safe_dump(config, sort_keys=False))
    plain.chmod(0o644)
    work.chmod(0o755)
    return {"PooledPostgresStorage (dagster.yaml)": None, "storage: postgres (Dagster's)": plain}


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for proc in tree(pid):
        try:
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            continue
    return total


def rss_mb(pid: int) -> float:
    total = 0
    for proc in tree(pid):
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total / MB


def sessions(instance: Engine) -> int:
    with instance.connect() as conn:
        return int(conn.exec_driver_sql(SESSIONS).scalar_one())


def measure(name: str, instance_yaml: Path | None, warmup: float, window: float) -> dict[str, float]:
    with c.layout() as layout:
        database, env = start_databases(layout)
        layout.once(["campaign-ops", "db", "upgrade"], env)
        mount = ["-v", f"{instance_yaml}:{INSTANCE_YAML_IN_IMAGE}:ro"] if instance_yaml else []
        roles = {
            "code server": layout.start("code-server", ip=CODE_SERVER_IP, env=env, extra=mount),
            "webserver": layout.start("webserver", WEBSERVER_COMMAND, ip=WEBSERVER_IP, env=env, extra=mount),
            "daemon": layout.start("daemon", DAEMON_COMMAND, ip=DAEMON_IP, env=env, extra=mount),
        }
        api = DagsterApi(f"http://{WEBSERVER_IP}:3000")
        wait_for("the webserver to load the code location", lambda: location_loaded(api), 240, interval=2)
        time.sleep(warmup)
        # PostgreSQL too: every session opened is a backend process forked and torn down there
        pids = {role: layout.main_pid(container) for role, container in {**roles, "PostgreSQL": database}.items()}
        instance = make_engine(c.db_url(DB_IP, "dagster"), pooled=False)
        cpu0 = {role: cpu_seconds(pid) for role, pid in pids.items()}
        sessions0 = sessions(instance)
        started = time.monotonic()
        time.sleep(window)
        sessions1 = sessions(instance)
        minutes = (time.monotonic() - started) / 60
        cpu1 = {role: cpu_seconds(pid) for role, pid in pids.items()}
        rss = {role: rss_mb(pid) for role, pid in pids.items()}
        instance.dispose()
        # the bench's own read after the first one is one session of those counted
        opened = (sessions1 - sessions0 - 1) / minutes
        figures = {"instance sessions opened / min": opened}
        for role in pids:
            figures[f"{role} CPU-s / min"] = (cpu1[role] - cpu0[role]) / minutes
            figures[f"{role} RSS MB"] = rss[role]
        print(f"\n{name}: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()), flush=True)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=120, help="seconds measured, after the warm-up")
    parser.add_argument("--warmup", type=float, default=60, help="seconds after the location loaded")
    args = parser.parse_args()
    seconds = c.build_image()
    print(f"image {c.IMAGE}: {c.image_size_bytes() / 1e6:.0f} MB, build {seconds:.1f} s (cached layers as found)")
    with tempfile.TemporaryDirectory() as work:
        results = {name: measure(name, path, args.warmup, args.window) for name, path in storages(Path(work)).items()}
    names = list(results)
    print(f"\n| idle, {args.window:.0f} s window after {args.warmup:.0f} s | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key in results[names[0]]:
        print(f"| {key} | " + " | ".join(f"{results[n][key]:.1f}" for n in names) + " |")


if __name__ == "__main__":
    main()
