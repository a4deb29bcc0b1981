"""The Dagster service on one machine, laid out as in production: a supervisor of its three processes.

Three processes on one dagster-postgres instance (dagster.yaml beside this module), with the environment of
`campaign_ops.service.environment.dagster_environment()`:
- the code location as its own gRPC server (`dagster api grpc -m campaign_ops.definitions`): it loads the
  definitions once, serves them to the others and spawns each run's worker. One process on purpose: the
  `dagster code-server start` proxy keeps answering after its inner server died (tried here: kill -9 of the inner
  server left the location unreachable until a restart), whereas a crashed `api grpc` is an exit that this
  supervisor (or Kubernetes) sees and restarts;
- `dagster-webserver` and `dagster-daemon run`, both reading workspace.yaml beside this module, a `grpc_server`
  entry whose host and port come from CAMPAIGN_OPS_CODE_SERVER_HOST/PORT.
Each runs in its own process group; one that exits on its own is restarted (up to MAX_RESTARTS times). Stopping
(Ctrl-C or SIGTERM to `campaign-ops dev`) sends SIGTERM to every group, then SIGKILL to whatever is still alive
after a timeout, including run workers the code server spawned, so nothing is orphaned and every database session
(and any advisory lock it held) is closed.

`campaign-ops dev` (campaign_ops/cli/dev.py) runs it in a terminal; the end-to-end tests and the service bench
drive it directly. The Dockerfile in deploy/ runs the same three commands (`service_commands`), one per container
(the code server's under code_server.py, which stops it port first).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil

from campaign_ops.errors import CampaignOpsError
from campaign_ops.service.graphql import graphql
from campaign_ops.ui_url import CODE_LOCATION, DEFAULT_UI_HOST, DEFAULT_UI_PORT, DEFINITIONS_MODULE, UI_URL_ENV_VAR

# the webserver's and the daemon's workspace (shipped in the package; deploy/Dockerfile copies it into the image)
SERVICE_WORKSPACE = Path(__file__).with_name("workspace.yaml")
CODE_SERVER_HOST_VAR = "CAMPAIGN_OPS_CODE_SERVER_HOST"
CODE_SERVER_PORT_VAR = "CAMPAIGN_OPS_CODE_SERVER_PORT"
SERVICE_NAMES = ("code-server", "daemon", "webserver")
MAX_RESTARTS = 5


@dataclass(frozen=True)
class ServicePorts:
    """Where the webserver and the code server listen (the daemon listens nowhere)."""

    webserver: int = DEFAULT_UI_PORT
    code_server: int = 4000
    host: str = DEFAULT_UI_HOST

    @property
    def webserver_url(self) -> str:
        return f"http://{self.host}:{self.webserver}"


def _executable(name: str) -> str:
    """The entry point installed beside this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def service_commands(ports: ServicePorts) -> dict[str, list[str]]:
    """The three commands, in start order. deploy/Dockerfile and the Helm values run the same ones."""
    return {
        "code-server": [
            _executable("dagster"),
            *("api", "grpc", "-m", DEFINITIONS_MODULE, "--location-name", CODE_LOCATION),
            *("-h", ports.host, "-p", str(ports.code_server)),
        ],
        "daemon": [_executable("dagster-daemon"), "run", "-w", str(SERVICE_WORKSPACE)],
        "webserver": [
            _executable("dagster-webserver"),
            *("-w", str(SERVICE_WORKSPACE), "-h", ports.host, "-p", str(ports.webserver)),
        ],
    }


class ServiceError(CampaignOpsError):
    """A service did not start, or stopped on its own."""


class DagsterServices:
    """The code server, daemon and webserver as child processes, each in its own process group."""

    def __init__(
        self,
        env: Mapping[str, str],
        ports: ServicePorts,
        log_dir: Path | None = None,
        stop_timeout_seconds: float = 15.0,
    ) -> None:
        self.env = {
            # links in check descriptions and alerts point at this UI unless DAGSTER_UI_URL says otherwise
            UI_URL_ENV_VAR: ports.webserver_url,
            **env,
            CODE_SERVER_HOST_VAR: ports.host,
            CODE_SERVER_PORT_VAR: str(ports.code_server),
            "PYTHONUNBUFFERED": "1",
        }
        self.ports = ports
        self.log_dir = log_dir
        self.stop_timeout_seconds = stop_timeout_seconds
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: dict[str, int] = {}
        self._old_groups: list[int] = []
        self._logs: list[IO[bytes]] = []

    # --- starting ----------------------------------------------------------------------------------------------

    def start_one(self, name: str) -> subprocess.Popen[bytes]:
        out: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = (self.log_dir / f"{name}.log").open("ab")
            self._logs.append(out)
        proc = subprocess.Popen(
            service_commands(self.ports)[name],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            # its own process group: Ctrl-C in the terminal reaches only us, and we stop each group as a whole
            start_new_session=True,
        )
        self.processes[name] = proc
        return proc

    def start(self, timeout_seconds: float = 180.0) -> None:
        """Start the code server, wait until it serves, then the daemon and the webserver; wait for the UI."""
        deadline = time.monotonic() + timeout_seconds
        try:
            self.start_one("code-server")
            self._wait(lambda: _port_open(self.ports.host, self.ports.code_server), deadline, "code server port")
            self.start_one("daemon")
            self.start_one("webserver")
            self._wait(self.code_location_loaded, deadline, "webserver with the code location loaded")
        except BaseException:
            self.stop()
            raise

    def _wait(self, ready: Callable[[], bool], deadline: float, what: str) -> None:
        while time.monotonic() < deadline:
            self.raise_if_exited()
            if ready():
                return
            time.sleep(0.5)
        raise ServiceError(f"timed out waiting for the {what}{self._log_hint()}")

    def restart_exited(self) -> list[str]:
        """Restart every service that exited on its own; ServiceError once one has used up its restarts."""
        restarted = []
        for name, proc in list(self.processes.items()):
            code = proc.poll()
            if code is None:
                continue
            self.restarts[name] = self.restarts.get(name, 0) + 1
            if self.restarts[name] > MAX_RESTARTS:
                raise ServiceError(f"{name} exited with code {code} {MAX_RESTARTS} times{self._log_hint(name)}")
            # run workers the dead code server left behind may still finish their runs (they report to the
            # instance directly): their group is kept, and stopped with the rest
            self._old_groups.append(proc.pid)
            self.start_one(name)
            restarted.append(f"{name} (exit code {code}, restart {self.restarts[name]}/{MAX_RESTARTS})")
        return restarted

    def raise_if_exited(self) -> None:
        for name, proc in self.processes.items():
            code = proc.poll()
            if code is not None:
                raise ServiceError(f"{name} exited with code {code}{self._log_hint(name)}")

    def _log_hint(self, name: str | None = None) -> str:
        if self.log_dir is None:
            return ""
        return f" (see {self.log_dir / (name + '.log') if name else self.log_dir})"

    def code_location_loaded(self) -> bool:
        """The webserver answers and shows the code location loaded without error."""
        query = (
            "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
            "locationOrLoadError { __typename } } } } }"
        )
        try:
            data = graphql(self.ports.webserver_url, query, timeout_seconds=5)
        except (OSError, ValueError):
            return False
        entries = (data.get("workspaceOrError") or {}).get("locationEntries") or []
        return any(
            e["name"] == CODE_LOCATION
            and e["loadStatus"] == "LOADED"
            and (e.get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation"
            for e in entries
        )

    # --- looking at them ---------------------------------------------------------------------------------------

    def process_tree(self, name: str) -> list[psutil.Process]:
        """The service's process and all its descendants (for the code server: its gRPC child and run workers)."""
        proc = self.processes.get(name)
        if proc is None or proc.poll() is not None:
            return []
        try:
            root = psutil.Process(proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def all_descendants(self) -> list[psutil.Process]:
        return [p for name in self.processes for p in self.process_tree(name)]

    # --- stopping ----------------------------------------------------------------------------------------------

    def stop(self) -> list[int]:
        """Stop all three; returns the pids that had to be killed.

        SIGTERM to every process group (webserver and daemon stop within seconds). A code server that has launched
        runs ignores SIGTERM (Dagster's run-launch code leaves it ignored), so after the timeout its run workers
        are killed first — the code server then records their runs as failed, which run retries pick up on the
        next start — and then the code server and anything else still alive.
        """
        groups = [proc.pid for proc in reversed(list(self.processes.values()))]  # webserver first
        groups += self._old_groups
        everything = self.all_descendants() + [p for group in self._old_groups for p in _group_members(group)]
        for group in groups:
            _signal_group(group, signal.SIGTERM)
        _, alive = psutil.wait_procs(everything, timeout=self.stop_timeout_seconds)
        killed: list[int] = []
        run_workers = [p for p in alive if is_run_worker(p)]
        if run_workers:
            killed += _kill(run_workers)
            time.sleep(3)  # the code server's cleanup thread marks the dead workers' runs failed
        for group in groups:
            _signal_group(group, signal.SIGKILL)
        killed += _kill([p for p in alive if p not in run_workers])
        for proc in self.processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                killed.append(proc.pid)
        for log in self._logs:
            log.close()
        self._logs.clear()
        return killed

    def __enter__(self) -> "DagsterServices":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def is_run_worker(proc: psutil.Process) -> bool:
    """A run worker is a multiprocessing child of the code server's gRPC process."""
    try:
        return "multiprocessing.spawn" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                members.append(proc)
        except (OSError, psutil.Error):
            continue
    return members


def _kill(procs: list[psutil.Process]) -> list[int]:
    killed = []
    for proc in procs:
        try:
            proc.kill()
            killed.append(proc.pid)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)
    return killed


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


@contextmanager
def stop_signals_as_interrupt() -> Iterator[None]:
    """Ctrl-C and `kill <pid>` of `campaign-ops dev` both stop the services. Both are caught (not ignored, even
    when a shell started us in the background with SIGINT ignored), so the children start with default handlers."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
