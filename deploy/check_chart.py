"""The checks behind deploy/check_chart.sh, run in its throwaway virtualenv (Dagster as the project installs it,
dagster-k8s, kubernetes-validate): what Dagster's official chart renders from deploy/helm/values.yaml.

Each check prints one line, PASS or FAIL; the exit code is non-zero when one fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
VALUES = ROOT / "deploy" / "helm" / "values.yaml"
RENDERED = ROOT / "deploy" / "helm" / "rendered.yaml"
DAGSTER_YAML = ROOT / "campaign_ops" / "service" / "dagster.yaml"
RELEASE = "campaign-ops"
NAMESPACE = "default"
KUBERNETES = "1.33.0"
CODE_LOCATION = "campaign_ops"
# the chart's values schema refers to Kubernetes definitions online; the validator ships them for KUBERNETES
ONLINE_DEFINITIONS = "https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/v1.19.0/_definitions.json"
# the instance sections that must equal DAGSTER_YAML's (the storage and the run launcher differ by design)
SHARED_SECTIONS = ("concurrency", "run_monitoring", "run_retries", "auto_materialize", "freshness", "telemetry")

failures: list[str] = []


def report(name: str, ok: bool, detail: str) -> None:
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
    if not ok:
        failures.append(name)


def values_sha256(values_text: str) -> str:
    """A digest of the values as Helm reads them (comments and layout do not count)."""
    canonical = json.dumps(yaml.safe_load(values_text), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def local_definitions(work: Path) -> Path:
    """The validator's bundled Kubernetes definitions, in the shape the chart's values schema refers to."""
    import kubernetes_validate

    bundled = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBERNETES}-local"
    text = (bundled / "_definitions.json").read_text().replace('"#/$defs/', '"#/definitions/')
    definitions = json.loads(text)
    definitions["definitions"] = definitions.pop("$defs")
    target = work / "definitions.json"
    target.write_text(json.dumps(definitions))
    return target


def offline_chart(chart: Path, work: Path) -> Path:
    """A copy of the chart whose values schema reads the Kubernetes definitions from disk (no network here)."""
    copy = work / "chart"
    shutil.copytree(chart, copy)
    definitions = local_definitions(work).as_uri()
    for schema in copy.rglob("values.schema.json"):
        schema.write_text(schema.read_text().replace(ONLINE_DEFINITIONS, definitions))
    return copy


def render(helm: str, chart: Path) -> tuple[str, str]:
    version = subprocess.run([helm, "version", "--short"], capture_output=True, text=True, check=True).stdout.strip()
    done = subprocess.run(
        [helm, "template", RELEASE, str(chart), "--namespace", NAMESPACE, "-f", str(VALUES)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "helm failed")
    return version, done.stdout


def objects_of(manifest: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def find(objects: list[dict[str, Any]], kind: str, test: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and test(o)]
    return found


def validate(validator: str, objects: list[dict[str, Any]], work: Path, name: str) -> tuple[bool, str]:
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    done = subprocess.run(
        [validator, "-k", KUBERNETES, "--strict", "--quiet", str(path)], capture_output=True, text=True
    )
    problems = (done.stdout + done.stderr).strip()
    return done.returncode == 0, problems.splitlines()[-1] if problems else f"{len(objects)} objects"


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    import sqlalchemy as sa

    name = f"check_chart_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    # psycopg2, as the instance's storage uses: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3
    parts = urlsplit(server_url)
    engine = sa.create_engine(urlunsplit(("postgresql+psycopg2", *parts[1:])), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    parts = urlsplit(server_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def on_database(
    instance_config: dict[str, Any], database_url: str, work: Path, api_server: str = "https://127.0.0.1:9"
) -> dict[str, Any]:
    """The rendered instance config with its storage pointed at `database_url` and its launcher at `api_server`
    (by default one that is never contacted: loading the instance builds the launcher, not a connection)."""
    parts = urlsplit(database_url)
    config = json.loads(json.dumps(instance_config))
    for storage in ("run_storage", "event_log_storage", "schedule_storage"):
        db = config[storage]["config"]["postgres_db"]
        db.update(hostname=parts.hostname, port=parts.port or 5432, db_name=parts.path.lstrip("/"), params={})
        db["username"] = parts.username or "postgres"
    os.environ["DAGSTER_PG_PASSWORD"] = parts.password or "unused"
    kubeconfig = work / f"kubeconfig-{len(list(work.glob('kubeconfig-*')))}"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": api_server}}],
                "users": [{"name": "u", "user": {"token": "none"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    launcher = config["run_launcher"]["config"]
    launcher.update(load_incluster_config=False, kubeconfig_file=str(kubeconfig))
    return config


def check_instance(instance_config: dict[str, Any], database_url: str, work: Path) -> None:
    import dagster as dg

    home = work / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(on_database(instance_config, database_url, work)))
    try:
        instance = dg.DagsterInstance.from_config(str(home))
    except Exception as error:  # the check reports Dagster's own refusal in one line
        report("instance config loads in Dagster", False, f"{type(error).__name__}: {str(error).splitlines()[0]}")
        return
    with instance:
        queue = instance.get_concurrency_config().run_queue_config
        report(
            "instance config loads in Dagster",
            type(instance.run_launcher).__name__ == "K8sRunLauncher"
            and type(instance.run_coordinator).__name__ == "QueuedRunCoordinator",
            f"Dagster {dg.__version__}: {type(instance.run_coordinator).__name__}, "
            f"{type(instance.run_launcher).__name__}",
        )
        ours = yaml.safe_load(DAGSTER_YAML.read_text())
        tags = sorted(limit["key"] for limit in (queue.tag_concurrency_limits if queue else []))
        report(
            "run queue limits in force",
            queue is not None
            and queue.max_concurrent_runs == ours["concurrency"]["runs"]["max_concurrent_runs"]
            and tags == sorted(limit["key"] for limit in ours["concurrency"]["runs"]["tag_concurrency_limits"]),
            f"max_concurrent_runs {queue.max_concurrent_runs if queue else None}, tag limits {tags}",
        )
        differing = [s for s in SHARED_SECTIONS if instance_config.get(s) != ours.get(s)]
        report("instance settings equal dagster.yaml", not differing, f"differing: {differing or 'none'}")


def run_job(instance_config: dict[str, Any], objects: list[dict[str, Any]], work: Path) -> dict[str, Any]:
    """The Job body K8sRunLauncher posts for a de-enrollment run of the code location (its own code path)."""
    import dagster as dg
    from dagster._core.code_pointer import ModuleCodePointer
    from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster_k8s.job import construct_dagster_k8s_job
    from kubernetes.client import ApiClient

    code_server = find(
        objects, "Deployment", lambda o: o["metadata"].get("labels", {}).get("component") == "user-deployments"
    )
    env = {e["name"]: e.get("value") for e in code_server["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    context_json = env.get("DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT") or env.get("DAGSTER_CONTAINER_CONTEXT")
    origin = JobPythonOrigin(
        job_name="de_enrollment_job",
        repository_origin=RepositoryPythonOrigin(
            executable_path="/usr/local/bin/python",
            code_pointer=ModuleCodePointer("campaign_ops.definitions", "defs", working_directory=None),
            container_image=env["DAGSTER_CURRENT_IMAGE"],
            container_context=json.loads(context_json) if context_json else None,
        ),
    )
    run = DagsterRun(
        job_name="de_enrollment_job", run_id="0" * 8 + "-0000-0000-0000-" + "0" * 12, job_code_origin=origin
    )
    home = work / "launcher-home"
    home.mkdir()
    config = on_database(instance_config, "postgresql://unused@127.0.0.1:9/unused", work)
    (home / "dagster.yaml").write_text(yaml.safe_dump({"run_launcher": config["run_launcher"]}))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        launcher = instance.run_launcher
        context = launcher.get_container_context_for_run(run)  # type: ignore[attr-defined]
        job = construct_dagster_k8s_job(
            job_config=context.get_k8s_job_config(job_image=env["DAGSTER_CURRENT_IMAGE"], run_launcher=launcher),
            args=["dagster", "api", "execute_run", "{}"],
            job_name="dagster-run-00000000",
            pod_name="dagster-run-00000000",
            component="run_worker",
            user_defined_k8s_config=context.run_k8s_config,
            labels={"dagster/job": "de_enrollment_job"},
        )
        return {
            "container_context": json.loads(context_json) if context_json else None,
            "job": ApiClient().sanitize_for_serialization(job),
        }


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_run(instance: Any, job_name: str, done: Callable[[Any], bool], timeout_s: float) -> Any:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = [r for r in instance.get_runs() if r.job_name == job_name]
        found = next((r for r in runs if done(r)), None)
        if found is not None:
            return found
        time.sleep(0.2)
    return None


def exercise_launcher(
    instance_config: dict[str, Any], objects: list[dict[str, Any]], server_url: str, work: Path
) -> None:
    """The real daemon, its K8sRunLauncher and run monitoring against the stand-in API server (deploy/k8s_standin.py):
    the daily retention job run to SUCCESS in a stand-in pod, and a retried job's pod killed mid-run."""
    import time

    import dagster as dg
    from k8s_standin import StandIn

    project_bin = ROOT / ".venv" / "bin"
    code_server = find(
        objects, "Deployment", lambda o: o["metadata"].get("labels", {}).get("component") == "user-deployments"
    )
    env = {e["name"]: e.get("value") for e in code_server["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    config_maps = {o["metadata"]["name"]: dict(o.get("data") or {}) for o in objects if o["kind"] == "ConfigMap"}
    values = yaml.safe_load(VALUES.read_text())
    promised = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["containerConfig"]["resources"]
    processes: list[subprocess.Popen] = []
    with throwaway_database(server_url) as app_url, throwaway_database(server_url) as instance_url:
        parts = urlsplit(instance_url)
        secrets = {
            "campaign-ops-database": {"DATABASE_URL": app_url},
            instance_config["run_launcher"]["config"]["postgres_password_secret"]: {
                "postgresql-password": parts.password or "unused"
            },
        }
        subprocess.run(
            [project_bin / "campaign-ops", "db", "upgrade"],
            env={**os.environ, "DATABASE_URL": app_url},
            check=True,
            capture_output=True,
        )
        home = work / "standin-home"
        home.mkdir()
        standin = StandIn(project_bin, home, work, config_maps, secrets).start()
        try:
            config = on_database(instance_config, instance_url, work, api_server=standin.url)
            # run monitoring every 5 s instead of 60, so a dead pod is seen within the check's patience
            config["run_monitoring"]["poll_interval_seconds"] = 5
            (home / "dagster.yaml").write_text(yaml.safe_dump(config))
            port = free_port()
            (server,) = [
                e["grpc_server"]
                for e in yaml.safe_load(
                    find(objects, "ConfigMap", lambda o: "workspace.yaml" in (o.get("data") or {}))["data"][
                        "workspace.yaml"
                    ]
                )["load_from"]
            ]
            workspace = work / "workspace.yaml"
            workspace.write_text(
                yaml.safe_dump(
                    {
                        "load_from": [
                            {
                                "grpc_server": {
                                    "host": "127.0.0.1",
                                    "port": port,
                                    "location_name": server["location_name"],
                                }
                            }
                        ]
                    }
                )
            )
            base = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_PASSWORD": parts.password or "unused"}
            processes.append(
                subprocess.Popen(
                    [
                        project_bin / "dagster",
                        "api",
                        "grpc",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(port),
                        *code_server_args(code_server),
                    ],
                    env={**base, "DATABASE_URL": app_url, "DAGSTER_CURRENT_IMAGE": env["DAGSTER_CURRENT_IMAGE"]},
                    stdout=(work / "code-server.log").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
            bin_dir = Path(sys.executable).parent
            processes.append(
                subprocess.Popen(
                    [bin_dir / "dagster-daemon", "run", "-w", str(workspace)],
                    env=base,
                    stdout=(work / "daemon.log").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
            time.sleep(8)  # the code server answers, the daemon's loops start

            def launch(job: str) -> None:
                subprocess.run(
                    [bin_dir / "dagster", "job", "launch", "-w", str(workspace), "-l", CODE_LOCATION, "-j", job],
                    env=base,
                    check=True,
                    capture_output=True,
                    timeout=120,
                )

            with dg.DagsterInstance.from_config(str(home)) as instance:
                started = time.monotonic()
                launch("prune_runs_job")
                run = wait_for_run(instance, "prune_runs_job", lambda r: r.is_finished, 240)
                posted = next(iter(standin.jobs.values()), None)
                report(
                    "the daemon's K8sRunLauncher runs the daily retention job to SUCCESS in a stand-in pod",
                    run is not None and run.status == dg.DagsterRunStatus.SUCCESS,
                    f"{run.status.value if run else 'no run'} after {time.monotonic() - started:.0f} s, "
                    f"Jobs posted: {len(standin.jobs)}",
                )
                resources = posted["spec"]["template"]["spec"]["containers"][0].get("resources") if posted else None
                report("the posted Job's pod has runLauncher's resources", resources == promised, json.dumps(resources))

                launch("de_enrollment_sweep_job")
                first = wait_for_run(
                    instance, "de_enrollment_sweep_job", lambda r: r.status == dg.DagsterRunStatus.STARTED, 120
                )
                if first is not None:
                    standin.kill_pod_of(f"dagster-run-{first.run_id}")
                failed = first and wait_for_run(
                    instance, "de_enrollment_sweep_job", lambda r: r.run_id == first.run_id and r.is_finished, 120
                )
                retried = first and wait_for_run(
                    instance, "de_enrollment_sweep_job", lambda r: r.run_id != first.run_id and r.is_finished, 180
                )
                logs = instance.all_logs(first.run_id) if first else []
                messages = [e.message for e in logs]
                steps_done = sum(
                    1 for e in logs if e.dagster_event and e.dagster_event.event_type_value == "STEP_SUCCESS"
                )
                monitored = next((m.split(". Marking")[0] for m in messages if "no active pods" in m), None)
                report(
                    "a run whose pod is killed mid-run is failed by run monitoring and retried to SUCCESS",
                    bool(
                        failed
                        and failed.status == dg.DagsterRunStatus.FAILURE
                        and monitored
                        and retried
                        and retried.status == dg.DagsterRunStatus.SUCCESS
                        and retried.tags.get("dagster/parent_run_id") == first.run_id
                    ),
                    f"killed run ({steps_done} step(s) done) {failed.status.value if failed else 'not started'} "
                    f"({monitored!r}), "
                    f"retry {retried.status.value if retried else 'none'}",
                )
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            standin.stop()


def code_server_args(deployment: dict[str, Any]) -> list[str]:
    """The rendered code server's own arguments after `dagster api grpc -h … -p …` (module, location name)."""
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args[args.index("-p") + 2 :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chart", type=Path, required=True)
    parser.add_argument("--helm", action="append", required=True)
    parser.add_argument("--validator", required=True)
    parser.add_argument("--write", action="store_true", help="refresh deploy/helm/rendered.yaml")
    parser.add_argument(
        "--launch", action="store_true", help="also run the daemon's K8sRunLauncher against a stand-in API server"
    )
    args = parser.parse_args()
    database = os.environ.get("CHECK_CHART_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

    chart_meta = yaml.safe_load((args.chart / "Chart.yaml").read_text())
    chart = f"{chart_meta['name']} {chart_meta['version']}"
    import dagster as dg

    report(
        "chart version is the installed Dagster's",
        chart_meta["version"] == dg.__version__,
        f"chart {chart_meta['version']}, Dagster {dg.__version__}",
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        chart_dir = offline_chart(args.chart, work)
        renders: dict[str, list[dict[str, Any]]] = {}
        for helm in args.helm:
            try:
                version, manifest = render(helm, chart_dir)
            except RuntimeError as error:
                report(f"renders with {helm}", False, str(error))
                continue
            renders[version] = objects_of(manifest)
            report(f"renders with Helm {version}", True, f"{len(renders[version])} objects")
        if not renders:
            return 1
        (objects, *others) = renders.values()
        report("Helm versions render the same objects", all(o == objects for o in others), ", ".join(renders))
        ok, detail = validate(args.validator, objects, work, "rendered")
        report(f"objects valid for Kubernetes {KUBERNETES} (strict)", ok, detail)

        instance_config = yaml.safe_load(
            find(objects, "ConfigMap", lambda o: "dagster.yaml" in (o.get("data") or {}))["data"]["dagster.yaml"]
        )
        workspace = yaml.safe_load(
            find(objects, "ConfigMap", lambda o: "workspace.yaml" in (o.get("data") or {}))["data"]["workspace.yaml"]
        )
        with throwaway_database(database) as database_url:
            check_instance(instance_config, database_url, work)

        (server,) = [entry["grpc_server"] for entry in workspace["load_from"]]
        services = {
            s["metadata"]["name"]: [p["port"] for p in s["spec"]["ports"]] for s in objects if s["kind"] == "Service"
        }
        report(
            "workspace names the code location and reaches its Service",
            server["location_name"] == CODE_LOCATION and server["port"] in services.get(server["host"], []),
            f"location {server['location_name']!r} at {server['host']}:{server['port']}",
        )

        launched = run_job(instance_config, objects, work)
        ok, detail = validate(args.validator, [launched["job"]], work, "run-job")
        report(f"a run's Job valid for Kubernetes {KUBERNETES} (strict)", ok, detail)
        resources = launched["job"]["spec"]["template"]["spec"]["containers"][0].get("resources")
        values = yaml.safe_load(VALUES.read_text())
        promised = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["containerConfig"]["resources"]
        report("a run's pod gets runLauncher's resources", resources == promised, json.dumps(resources))

        if args.launch:
            exercise_launcher(instance_config, objects, database, work)

        snapshot = {
            "chart": chart,
            "helm": sorted(renders),
            "values_sha256": values_sha256(VALUES.read_text()),
            "instance": instance_config,
            "workspace": workspace,
            "code_server_container_context": launched["container_context"],
            "run_pod_resources": resources,
        }
        header = (
            "# Written by deploy/check_chart.sh --write: what Dagster's official chart renders from values.yaml.\n"
            "# The tests read it (CI has no chart); values_sha256 makes them fail when values.yaml changed since.\n"
        )
        if args.write:
            RENDERED.write_text(header + yaml.safe_dump(snapshot, sort_keys=False))
            report("deploy/helm/rendered.yaml written", True, chart)
        else:
            current = yaml.safe_load(RENDERED.read_text()) if RENDERED.exists() else None
            report(
                "deploy/helm/rendered.yaml is what the chart renders",
                current == snapshot,
                "run with --write to refresh",
            )
    print(f"{len(failures)} failed: {', '.join(failures)}" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
