"""`campaign-ops dev`: the Dagster service on this machine, laid out as in production.

Three processes on one dagster-postgres instance (dagster.yaml), with the environment of `dagster_environment()`:
- the code location as its own gRPC server (`dagster api grpc -m campaign_ops.definitions`): it loads the
  definitions once, serves them to the others and spawns each run's worker. One process on purpose: the
  `dagster code-server start` proxy keeps answering after its inner server died (tried here: kill -9 of the inner
  server left the location unreachable until a restart), whereas a crashed `api grpc` is an exit that this
  supervisor (or Kubernetes) sees and restarts;
- `dagster-webserver` and `dagster-daemon run`, both reading deploy/workspace.yaml, a `grpc_server` entry whose
  host and port come from CAMPAIGN_OPS_CODE_SERVER_HOST/PORT.
Each runs in its own process group; one that exits on its own is restarted (up to MAX_RESTARTS times). Ctrl-C
(or SIGTERM) stops all of them: SIGTERM to every group, then SIGKILL to whatever is still alive after a timeout,
including run workers the code server spawned, so nothing is orphaned and every database session (and any
advisory lock it held) is closed.

The Dockerfile in deploy/ runs the same three commands (`service_commands`), one per container.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import click
import psutil

from campaign_ops.cli.clients import accepts_client_names
from campaign_ops.cli.types import MAX_DAYS, NON_BLANK, positive_int
from campaign_ops.db.embedded import PROJECT_ROOT, home_dir
from campaign_ops.db.engine import (
    APP_DATABASE,
    DAGSTER_DATABASE,
    connect,
    ensure_database,
    make_engine,
    resolve_database_url,
)
from campaign_ops.db.urls import mask_url, normalise_url, same_database, with_database
from campaign_ops.errors import CampaignOpsError, ConfigError
from campaign_ops.retention.core import DEFAULT_RETENTION_DAYS

CODE_LOCATION = "campaign_ops"
DEFINITIONS_MODULE = "campaign_ops.definitions"
SERVICE_WORKSPACE = PROJECT_ROOT / "deploy" / "workspace.yaml"
CODE_SERVER_HOST_VAR = "CAMPAIGN_OPS_CODE_SERVER_HOST"
CODE_SERVER_PORT_VAR = "CAMPAIGN_OPS_CODE_SERVER_PORT"
SERVICE_NAMES = ("code-server", "daemon", "webserver")
MAX_RESTARTS = 5


def dagster_environment() -> dict[str, str]:
    """Environment for Dagster processes: app database, instance storage on the same server, DAGSTER_HOME."""
    app_url = resolve_database_url(APP_DATABASE)
    raw = os.environ.get("DAGSTER_PG_URL")
    if raw is None:
        dagster_url = with_database(app_url, DAGSTER_DATABASE)
        ensure_database(with_database(app_url, "postgres"), DAGSTER_DATABASE)
    elif not raw.strip():
        raise ConfigError(
            f"DAGSTER_PG_URL is set but empty; unset it to use database {DAGSTER_DATABASE!r} beside the app's"
        )
    else:
        dagster_url = normalise_url(raw, "DAGSTER_PG_URL")
        # Dagster would create its tables among the app's before anything noticed
        if same_database(dagster_url, app_url):
            raise ConfigError(
                f"DAGSTER_PG_URL names the app database ({mask_url(dagster_url)}); the Dagster instance needs "
                f"its own database, e.g. …/{DAGSTER_DATABASE} on the same server"
            )
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home_dir() / "dagster_home")
    dagster_home.mkdir(parents=True, exist_ok=True)
    link = dagster_home / "dagster.yaml"
    if not link.exists():
        link.symlink_to(PROJECT_ROOT / "dagster.yaml")
    return {
        **os.environ,
        "DATABASE_URL": app_url,
        "DAGSTER_PG_URL": dagster_url,
        "DAGSTER_HOME": str(dagster_home),
    }


def check_databases(env: Mapping[str, str]) -> None:
    """Both databases answer, or one clear DatabaseUnavailableError (no password in it) before anything starts."""
    for name in ("DATABASE_URL", "DAGSTER_PG_URL"):
        url = env.get(name)
        if not url:
            raise ConfigError(f"{name} is not set")
        engine = make_engine(url, pooled=False)
        try:
            with connect(engine) as conn:
                conn.exec_driver_sql("SELECT 1")
        except CampaignOpsError as exc:
            raise type(exc)(f"{name}: {exc}") from None
        finally:
            engine.dispose()


@dataclass(frozen=True)
class ServicePorts:
    """Where the webserver and the code server listen (the daemon listens nowhere)."""

    webserver: int = 3000
    code_server: int = 4000
    host: str = "127.0.0.1"

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
            cwd=PROJECT_ROOT,
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
        run_workers = [p for p in alive if _is_run_worker(p)]
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


def _is_run_worker(proc: psutil.Process) -> bool:
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
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def graphql(base_url: str, query: str, variables: Mapping[str, object] | None = None, timeout_seconds: float = 30):
    """POST a GraphQL query to the webserver; returns `data`, raises ValueError on GraphQL errors."""
    import json

    body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
    request = urllib.request.Request(
        f"{base_url}/graphql", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ValueError(f"GraphQL HTTP {exc.code}: {exc.read()[:500]!r}") from None
    if payload.get("errors"):
        raise ValueError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


@contextmanager
def _stop_signals_as_interrupt() -> Iterator[None]:
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


@click.group("dev", invoke_without_command=True)
@click.option("--port", default=3000, show_default=True, help="Webserver (UI) port.")
@click.option("--code-server-port", default=4000, show_default=True, help="Code location gRPC port.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--log-dir", type=click.Path(path_type=Path), help="Write each service's output to a file here.")
@click.pass_context
def dev_command(ctx: click.Context, port: int, code_server_port: int, host: str, log_dir: Path | None) -> None:
    """Run the code server, daemon and webserver (UI on http://127.0.0.1:3000) until Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    env = dagster_environment()
    check_databases(env)
    ports = ServicePorts(webserver=port, code_server=code_server_port, host=host)
    click.echo(f"database: {mask_url(env['DATABASE_URL'])}")
    click.echo(f"instance: {mask_url(env['DAGSTER_PG_URL'])} (DAGSTER_HOME={env['DAGSTER_HOME']})")
    services = DagsterServices(env, ports, log_dir=log_dir)
    exit_code = 0
    with _stop_signals_as_interrupt():
        try:
            services.start()
            click.echo(f"code server: {host}:{code_server_port}; daemon running; Dagster UI: {ports.webserver_url}")
            click.echo("Ctrl-C stops all three.")
            while True:
                for restarted in services.restart_exited():
                    click.echo(f"restarted {restarted}", err=True)
                time.sleep(1)
        except KeyboardInterrupt:
            click.echo("stopping the webserver, daemon and code server ...")
        except ServiceError as exc:
            click.echo(f"error: {exc}", err=True)
            exit_code = 1
        finally:
            killed = services.stop()
    if killed:
        click.echo(f"killed after {services.stop_timeout_seconds:.0f} s: pids {killed}")
    click.echo("stopped")
    raise SystemExit(exit_code)


@dev_command.command("check")
def check_command() -> None:
    """Check that the app database and the Dagster instance database answer (what `dev` checks first)."""
    env = dagster_environment()
    check_databases(env)
    click.echo(f"database: {mask_url(env['DATABASE_URL'])}: ok")
    click.echo(f"instance: {mask_url(env['DAGSTER_PG_URL'])}: ok")


@dev_command.command("env")
def env_command() -> None:
    """Print `export` lines for what Dagster's own tools (dg dev, dg launch, dg list defs, dg check defs) need:
    DATABASE_URL, DAGSTER_PG_URL and DAGSTER_HOME as `campaign-ops dev` sets them. Use: eval "$(campaign-ops dev env)".

    Only variables not already set are printed; a URL with a password is never printed (export it yourself)."""
    import shlex

    from sqlalchemy.engine import make_url

    env = dagster_environment()
    for name in ("DATABASE_URL", "DAGSTER_PG_URL", "DAGSTER_HOME"):
        if name in os.environ:
            continue
        if name != "DAGSTER_HOME" and make_url(env[name]).password:
            raise ConfigError(f"{name} would carry a password, which is never printed: export {name} yourself")
        click.echo(f"export {name}={shlex.quote(env[name])}")


@dev_command.command("prune-runs")
@click.option("--older-than-days", type=positive_int(MAX_DAYS), default=DEFAULT_RETENTION_DAYS, show_default=True)
@click.option("--dry-run", is_flag=True, help="Count the runs that would be deleted; delete nothing.")
def prune_runs_command(older_than_days: int, dry_run: bool) -> None:
    """Delete finished Dagster runs (their event logs and check rows) older than N days: the instance's run
    retention, as the daily prune_runs_job does."""
    import dagster as dg

    from campaign_ops.retention.core import prune_runs

    if older_than_days < 1:
        raise ConfigError(f"--older-than-days must be at least 1, got {older_than_days}")
    env = dagster_environment()
    check_databases(env)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DAGSTER_PG_URL", "DAGSTER_HOME")})
    with dg.DagsterInstance.get() as instance:
        result = prune_runs(instance, older_than_days=older_than_days, now=dt.datetime.now(dt.UTC), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {result.runs} finished run(s) created before {result.cutoff:%Y-%m-%d %H:%M} UTC")


# the run's events stay in the instance (the UI shows them all); the terminal gets INFO and above
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


@click.command("run-job")
@click.argument("job_name")
@click.option(
    "--client-id", type=NON_BLANK, help="One client partition; default (option left out): one run over all of them."
)
@accepts_client_names
def run_job_command(job_name: str, client_id: str | None) -> None:
    """Run a partitioned job as a real Dagster run on the project's instance (it shows in the UI)."""
    from campaign_ops.clients.core import require_active_clients
    from campaign_ops.clients.partition_keys import active_clients, client_run_tags, key_for_client, partition_changes
    from campaign_ops.de_enrollment.core import DeEnrollmentSettings

    # everything that can be refused is, in one line, before Dagster is even imported
    DeEnrollmentSettings.from_env()  # a bad DE_ENROLLMENT_* here, not as a failed run's stack trace
    env = dagster_environment()
    # an unreachable instance database is one line now, not Dagster's retries and their stack traces
    check_databases(env)
    engine = make_engine(env["DATABASE_URL"], pooled=False)
    with connect(engine) as conn:
        active = active_clients(conn)
        if client_id:
            client_id = require_active_clients(conn, [client_id])[0]
    engine.dispose()
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DAGSTER_PG_URL", "DAGSTER_HOME")})

    import dagster as dg

    with warnings.catch_warnings():
        # partitioned asset checks are a Dagster preview feature, used on purpose (the tests say why); an
        # operator's `run-job` need not be told on every call
        warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec")
        from campaign_ops.definitions import defs
    from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    from campaign_ops.partitions import clients_partitions
    from campaign_ops.sweeps import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

    try:
        job = defs.resolve_job_def(job_name)
    except dg.DagsterInvariantViolationError:
        raise click.BadParameter(f"no job named {job_name!r}") from None
    with dg.DagsterInstance.get() as instance:
        # the same sync the clients_partition_sync_sensor does, so the run does not wait for the daemon
        name = clients_partitions.name
        assert name is not None
        changes = partition_changes(instance.get_dynamic_partitions(name), active)
        if changes.to_add:
            instance.add_dynamic_partitions(name, changes.to_add)
        for key in changes.to_remove:
            instance.delete_dynamic_partition(name, key)
        keys = instance.get_dynamic_partitions(name)
        if not keys:
            raise click.ClickException("no active clients: nothing to run")
        # the job's Runs tab lists runs labelled with its repository and code location; a run executed here has
        # no remote origin, so it gets the label the webserver would have given it
        tags = {REPOSITORY_LABEL_TAG: f"{SINGLETON_REPOSITORY_NAME}@{CODE_LOCATION}"}
        named = client_run_tags(client_id, active.get(client_id)) if client_id else {}
        if job.partitions_def is None:
            # the checks and the sweep job are not partitioned: all active clients, or one by its tags
            tags |= named
        elif client_id:
            tags |= {PARTITION_TAG: key_for_client(keys, client_id, active.get(client_id)), **named}
        else:
            tags |= {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
        result = job.execute_in_process(instance=instance, tags=tags, run_config=QUIET, raise_on_error=False)
    scope = f"client {active.get(client_id or '', '')} ({client_id})" if client_id else f"{len(keys)} client partitions"
    click.echo(f"{job_name} over {scope}: {'SUCCESS' if result.success else 'FAILURE'} (run {result.run_id})")
    click.echo(f"see it at http://127.0.0.1:3000/runs/{result.run_id} once `make dev` runs")
    if not result.success:
        raise SystemExit(1)
