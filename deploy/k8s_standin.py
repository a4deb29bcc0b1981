"""A stand-in for the few Kubernetes API calls Dagster's K8sRunLauncher and its run monitoring make (create a
batch/v1 Job, read its status, list and read its pods, delete it), on 127.0.0.1: a posted Job's pod runs as a
local process with the Job's command, environment and resources recorded (deploy/check_chart.py), or, given
`Containers`, as a container of the Job's image with its environment, its ConfigMap volumes and its memory limit
(bench/k8s_due_bench.py).

Not Kubernetes: no scheduling, no image pulls (a process runs the command from `bin_dir`, standing for the image;
a container runs a local image), no RBAC, no probes. For a process the instance ConfigMap the Job mounts is
replaced by the caller's `dagster_home`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Pod:
    name: str
    job: dict[str, Any]
    process: subprocess.Popen
    log: Path
    killed: bool = False
    container: str | None = None  # its container's name, when pods are containers
    created: float = field(default_factory=time.time)
    ended: float | None = None

    def phase(self) -> str:
        code = self.process.poll()
        if code is None:
            return "Running"
        if self.ended is None:
            self.ended = time.time()
        return "Succeeded" if code == 0 and not self.killed else "Failed"


@dataclass
class Containers:
    """Pods as containers: `podman run` (in the foreground, so the process's exit is the pod's) of the Job's image
    on `network`, the name of each container `prefix` + the Job's name."""

    podman: Sequence[str]
    network: str
    prefix: str
    options: Sequence[str] = ()

    def run_command(self, name: str, container: dict[str, Any], env: dict[str, str], mounts: list[str]) -> list[str]:
        command = [*self.podman, "run", "--rm", "--name", name, "--network", self.network, *self.options]
        memory = (container.get("resources") or {}).get("limits", {}).get("memory")
        if memory:  # the limit the kubelet would set; requests only matter to a scheduler
            command += ["--memory", kubernetes_bytes(memory)]
        for key, value in env.items():
            command += ["--env", f"{key}={value}"]
        for mount in mounts:
            command += ["--volume", mount]
        if container.get("command"):  # a pod's command replaces the image's entrypoint, its args the CMD
            command += ["--entrypoint", json.dumps(container["command"])]
        return [*command, container["image"], *container.get("args", [])]


def kubernetes_bytes(quantity: str) -> str:
    """A Kubernetes memory quantity (512Mi, 1Gi, 500M, bytes) in bytes, for podman's --memory."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return str(int(float(quantity[: -len(suffix)]) * factor))
    return str(int(quantity))


@dataclass
class StandIn:
    """Jobs posted here run their pod at once (no scheduling) as a process of `bin_dir`'s programs, or as a
    container when `containers` is given (`bin_dir` and `dagster_home` unused then)."""

    bin_dir: Path
    dagster_home: Path
    work: Path
    config_maps: dict[str, dict[str, str]]
    secrets: dict[str, dict[str, str]]
    containers: Containers | None = None
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: dict[str, Pod] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> StandIn:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for pod in self.pods.values():
            if pod.process.poll() is None:
                self._signal(pod, signal.SIGKILL)
                pod.process.wait()
        if self.server:
            self.server.shutdown()

    def kill_pod_of(self, job_name: str) -> None:
        """As if the node under the run's pod went away."""
        pod = self.pods[job_name]
        pod.killed = True
        self._signal(pod, signal.SIGKILL)

    def _signal(self, pod: Pod, sig: signal.Signals) -> None:
        if pod.container and self.containers:
            subprocess.run(
                [*self.containers.podman, "kill", "--signal", sig.name, pod.container], capture_output=True, timeout=60
            )
        else:
            os.killpg(pod.process.pid, sig)

    # --- what a Job's pod gets -------------------------------------------------------------------------------
    def _env(self, container: dict[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.containers is None:
            env.update(PATH=f"{self.bin_dir}:/usr/bin:/bin", HOME=str(self.work))
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env.update(self.config_maps.get(source["configMapRef"]["name"], {}))
            if "secretRef" in source:
                env.update(self.secrets.get(source["secretRef"]["name"], {}))
        for variable in container.get("env", []):
            if "value" in variable:
                env[variable["name"]] = variable["value"]
            elif "secretKeyRef" in variable.get("valueFrom", {}):
                ref = variable["valueFrom"]["secretKeyRef"]
                env[variable["name"]] = self.secrets[ref["name"]][ref["key"]]
        if self.containers is None:
            # the instance ConfigMap mounted at DAGSTER_HOME in the cluster: the caller's instance here
            env["DAGSTER_HOME"] = str(self.dagster_home)
        return env

    def _config_map_mounts(self, name: str, job: dict[str, Any], container: dict[str, Any]) -> list[str]:
        """The Job's ConfigMap volumes as files written under `work` and bind-mounted read-only where it says."""
        volumes = {v["name"]: v["configMap"]["name"] for v in job["spec"]["template"]["spec"].get("volumes", [])
                   if "configMap" in v}  # fmt: skip
        mounts = []
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes:
                continue
            data = self.config_maps.get(volumes[mount["name"]], {})
            folder = self.work / name / mount["name"]
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o755)
            for key, text in data.items():
                (folder / key).write_text(text)
                (folder / key).chmod(0o644)
            source = folder / mount["subPath"] if mount.get("subPath") else folder
            mounts.append(f"{source}:{mount['mountPath']}:ro")
        return mounts

    def create_job(self, namespace: str, job: dict[str, Any]) -> dict[str, Any]:
        name = job["metadata"]["name"]
        job.setdefault("metadata", {})["namespace"] = namespace
        job["metadata"].setdefault("uid", name)
        self.jobs[name] = job
        (container,) = job["spec"]["template"]["spec"]["containers"]
        log = self.work / f"{name}.log"
        container_name = None
        with log.open("w") as out:
            if self.containers is not None:
                container_name = f"{self.containers.prefix}{name}"
                mounts = self._config_map_mounts(name, job, container)
                command = self.containers.run_command(container_name, container, self._env(container), mounts)
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            else:
                process = subprocess.Popen(
                    [*container.get("command", []), *container.get("args", [])],
                    env=self._env(container),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=self.work,
                    start_new_session=True,
                )
        self.pods[name] = Pod(f"{name}-pod", job, process, log, container=container_name)
        return self.job_body(name)

    def job_body(self, name: str) -> dict[str, Any]:
        phase = self.pods[name].phase()
        status = {"Running": {"active": 1}, "Succeeded": {"succeeded": 1}, "Failed": {"failed": 1}}[phase]
        return {**self.jobs[name], "apiVersion": "batch/v1", "kind": "Job", "status": status}

    def pod_body(self, name: str) -> dict[str, Any]:
        pod = self.pods[name]
        phase = pod.phase()
        state: dict[str, Any] = {"running": {}}
        if phase != "Running":
            state = {
                "terminated": {
                    "exitCode": pod.process.returncode,
                    "reason": "Error" if phase == "Failed" else "Completed",
                }
            }
        (container,) = pod.job["spec"]["template"]["spec"]["containers"]
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod.name, "namespace": pod.job["metadata"]["namespace"], "labels": {"job-name": name}},
            "spec": {"containers": [container]},
            "status": {
                "phase": phase,
                "containerStatuses": [
                    {
                        "name": container["name"],
                        "ready": phase == "Running",
                        "restartCount": 0,
                        "image": container["image"],
                        "imageID": "",
                        "state": state,
                    }
                ],
            },
        }


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    jobs = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?(/status)?$")
    pods = re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?(/log)?$")
    events = re.compile(r"^/api/v1/namespaces/([^/]+)/events$")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: the check prints its own lines
            pass

        def send(self, status: int, body: Any, text: bool = False) -> None:
            data = body.encode() if text else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if text else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def not_found(self) -> None:
            self.send(
                404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}
            )

        def do_POST(self) -> None:
            match = jobs.match(urlsplit(self.path).path)
            if not match or match.group(2):
                return self.not_found()
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.send(201, standin.create_job(match.group(1), body))

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if match := jobs.match(parts.path):
                if match.group(2):
                    return (
                        self.send(200, standin.job_body(match.group(2)))
                        if match.group(2) in standin.jobs
                        else self.not_found()
                    )
                items = [standin.job_body(name) for name in standin.jobs]
                return self.send(200, {"apiVersion": "batch/v1", "kind": "JobList", "metadata": {}, "items": items})
            if match := pods.match(parts.path):
                by_pod = {pod.name: job for job, pod in standin.pods.items()}
                if match.group(2):
                    job = by_pod.get(match.group(2))
                    if job is None:
                        return self.not_found()
                    if match.group(3):
                        return self.send(200, standin.pods[job].log.read_text(), text=True)
                    return self.send(200, standin.pod_body(job))
                selector = query.get("labelSelector", [""])[0]
                wanted = selector.removeprefix("job-name=") if selector.startswith("job-name=") else None
                items = [standin.pod_body(job) for job in standin.pods if wanted in (None, job)]
                return self.send(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})
            if events.match(parts.path):
                return self.send(200, {"apiVersion": "v1", "kind": "EventList", "metadata": {}, "items": []})
            return self.not_found()

        def do_DELETE(self) -> None:
            match = jobs.match(urlsplit(self.path).path) or pods.match(urlsplit(self.path).path)
            name = match.group(2) if match else None
            job = name if name in standin.pods else {p.name: j for j, p in standin.pods.items()}.get(name or "")
            if job is None:
                return self.not_found()
            if standin.pods[job].process.poll() is None:
                standin._signal(standin.pods[job], signal.SIGTERM)
            self.send(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})

    return Handler
