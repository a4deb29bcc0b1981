"""The package installed as a user installs it (a wheel, not editable) runs from a directory outside the repository:
`db upgrade` and `db verify` on a fresh database, and the service until its webserver shows the code location.

The wheel goes into a new virtualenv of its own. Its dependencies are this environment's, reached through a `.pth`
line naming this environment's site-packages, with their console scripts (`dagster`, `dagster-webserver`, …)
written beside the new interpreter as pip writes them: installing them again would take minutes and the network,
and proves nothing about this package. A plain path in a `.pth` is not a site directory, so the `.pth` files in it
(this environment's editable install of campaign_ops among them) are not run: `campaign_ops` can only come from the
wheel, which the test checks.
"""

import importlib.metadata
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from campaign_ops.db.embedded import home_dir
from campaign_ops.service.dagster_api import DagsterApi, wait_for
from campaign_ops.service.environment import INSTANCE_YAML, link_instance_yaml
from campaign_ops_tests.conftest import create_database, drop_database
from campaign_ops_tests.e2e.conftest import free_port

REPO = Path(__file__).resolve().parents[1]


def build_wheel(work: Path) -> Path:
    """A wheel of the package, built from a copy of what the build reads (no stale build/ of the checkout)."""
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "campaign_ops", source / "campaign_ops", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "-w", str(work / "dist"), str(source)], check=True, capture_output=True)
    (wheel,) = (work / "dist").glob("campaign_ops-*.whl")
    return wheel


def installed_venv(work: Path, wheel: Path) -> Path:
    """A new virtualenv with the wheel installed and this environment's dependencies; returns its bin/."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run([*install, str(wheel)], check=True, capture_output=True)
    (site_packages,) = (venv / "lib").glob("python*/site-packages")
    (site_packages / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    for entry in importlib.metadata.entry_points(group="console_scripts"):
        script = venv / "bin" / entry.name
        if script.exists() or (entry.dist is not None and entry.dist.name == "campaign-ops"):
            continue
        script.write_text(
            f"#!{python}\nimport sys\nfrom importlib.metadata import EntryPoint\n\n"
            f"sys.exit(EntryPoint({entry.name!r}, {entry.value!r}, {entry.group!r}).load()())\n"
        )
        script.chmod(0o755)
    return venv / "bin"


@pytest.fixture
def instance_db_url(admin_url: str) -> Iterator[str]:
    name = f"co_instance_{uuid.uuid4().hex[:16]}"
    yield create_database(admin_url, name)
    drop_database(admin_url, name)


def test_the_embedded_servers_home_is_where_the_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAMPAIGN_OPS_HOME", raising=False)
    assert home_dir() == tmp_path / ".campaign_ops"
    monkeypatch.setenv("CAMPAIGN_OPS_HOME", "elsewhere")  # made absolute: the service's processes agree on it
    assert home_dir() == tmp_path / "elsewhere"


def test_dagster_home_links_the_packages_instance_file_and_keeps_an_operators_own(tmp_path: Path) -> None:
    moved = tmp_path / "moved"  # a link left by a checkout whose dagster.yaml has since moved
    moved.mkdir()
    (moved / "dagster.yaml").symlink_to(tmp_path / "gone" / "dagster.yaml")
    own = tmp_path / "own"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for home in (moved, own, tmp_path / "empty"):
        home.mkdir(exist_ok=True)
        link_instance_yaml(home)
    assert (moved / "dagster.yaml").resolve() == INSTANCE_YAML
    assert (tmp_path / "empty" / "dagster.yaml").resolve() == INSTANCE_YAML
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    assert not (own / "dagster.yaml").is_symlink()
    assert sorted(p.name for p in moved.iterdir()) == ["dagster.yaml"]  # no temporary link left behind


@pytest.mark.slow
def test_a_non_editable_install_migrates_verifies_and_serves_from_any_directory(
    tmp_path: Path, empty_db_url: str, instance_db_url: str
) -> None:
    bin_dir = installed_venv(tmp_path, build_wheel(tmp_path))
    (site_packages,) = (tmp_path / "venv" / "lib").glob("python*/site-packages")
    here = tmp_path / "elsewhere"  # the working directory: outside the repository, nothing of the project in it
    here.mkdir()
    unset = ("VIRTUAL_ENV", "PYTHONPATH", "DAGSTER_HOME", "CAMPAIGN_OPS_HOME", "TEST_DATABASE_URL", "DAGSTER_PG_URL")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(PATH=f"{bin_dir}:/usr/bin:/bin", DATABASE_URL=empty_db_url)

    def campaign_ops(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(bin_dir / "campaign-ops"), *args]
        return subprocess.run(command, cwd=here, env=env, capture_output=True, text=True, timeout=300)

    found = subprocess.run(
        [str(bin_dir / "python"), "-c", "import campaign_ops; print(campaign_ops.__file__)"],
        cwd=here, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(found.stdout.strip()).is_relative_to(site_packages), found.stdout

    upgrade = campaign_ops("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert "applied: 0001, 0002" in upgrade.stdout, upgrade.stdout
    verify = campaign_ops("db", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.strip().splitlines()[-1].endswith("Failed: 0"), verify.stdout

    web_port, code_port = free_port(), free_port()
    dev = subprocess.Popen(
        [str(bin_dir / "campaign-ops"), "dev", "--port", str(web_port), "--code-server-port", str(code_port)],
        cwd=here,
        env={**env, "DAGSTER_PG_URL": instance_db_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        api = DagsterApi(f"http://127.0.0.1:{web_port}")

        def jobs_served() -> set[str] | None:
            if dev.poll() is not None:
                raise AssertionError(f"campaign-ops dev exited {dev.returncode}")
            try:
                data = api.query(
                    "{ repositoriesOrError { ... on RepositoryConnection { nodes { location { name } "
                    "jobs { name } } } } }"
                )
            except (OSError, ValueError):  # not listening yet
                return None
            nodes = data["repositoriesOrError"].get("nodes") or []
            return {j["name"] for n in nodes if n["location"]["name"] == "campaign_ops" for j in n["jobs"]} or None

        assert "de_enrollment_job" in wait_for("the webserver to serve the code location", jobs_served, 180)
        # the three processes run the installed package and read its workspace; the instance is its dagster.yaml
        commands = [" ".join(p.cmdline()) for p in psutil.Process(dev.pid).children(recursive=True)]
        workspace = site_packages / "campaign_ops" / "service" / "workspace.yaml"
        assert sum(f"-w {workspace}" in c for c in commands) == 2, commands
        assert any(c.startswith(f"{bin_dir / 'python'} {bin_dir / 'dagster'} api grpc") for c in commands), commands
        link = here / ".campaign_ops" / "dagster_home" / "dagster.yaml"
        assert link.resolve() == site_packages / "campaign_ops" / "service" / "dagster.yaml"
    finally:
        dev.send_signal(signal.SIGTERM)
        output, _ = dev.communicate(timeout=60)
    assert dev.returncode == 0, output[-3000:]
    assert output.rstrip().endswith("stopped"), output[-3000:]
