"""The production instance config and the deployment files agree with Dagster and with each other."""

import importlib.metadata
import importlib.util
import re
import shlex
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster._core.errors import DagsterInvalidConfigError

from bench.containers import IMAGE_WORKSPACE
from campaign_ops.db.urls import normalise_url
from campaign_ops.de_enrollment.due_defs import SPACING_ENV
from campaign_ops.de_enrollment.settings import DEFAULT_MAX_RUNTIME_MS
from campaign_ops.definitions import defs
from campaign_ops.service import code_server
from campaign_ops.service.environment import INSTANCE_YAML
from campaign_ops.service.supervisor import SERVICE_WORKSPACE, ServicePorts, service_commands
from campaign_ops.ui_url import CODE_LOCATION, DEFINITIONS_MODULE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RENDERED = DEPLOY / "helm" / "rendered.yaml"
IDEMPOTENT_JOBS = {"de_enrollment_job", "de_enrollment_sweep_job", "stats_reconciliation_job"}


def load_instance(config: dict, tmp_path: Path) -> dg.DagsterInstance:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_config(str(home))


def test_production_dagster_yaml_is_valid_for_dagster(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loaded by Dagster itself (its config schema, then the instance on a real database), every setting in force."""
    monkeypatch.setenv("DAGSTER_PG_URL", normalise_url(empty_db_url))
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    with load_instance(config, tmp_path) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert type(instance.run_launcher).__name__ == "DefaultRunLauncher"
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_runtime_seconds == 7200
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 0
        assert instance.run_retries_retry_on_asset_or_op_failure is False
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 4
        assert {limit["key"] for limit in queue.tag_concurrency_limits} == {"dagster/schedule_name", "dagster/backfill"}
        # a run dequeued while the code server is down waits for it (5 minutes) instead of failing
        assert queue.max_user_code_failure_retries * queue.user_code_failure_retry_delay >= 300
        assert instance.get_settings("telemetry") == {"enabled": False}
        assert instance.get_settings("retention")["schedule"] == {"purge_after_days": 90}


def test_dagster_config_schema_catches_a_misspelled_setting(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the test above: the same loading refuses a setting Dagster does not know."""
    monkeypatch.setenv("DAGSTER_PG_URL", normalise_url(empty_db_url))
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    config["run_monitoring"]["max_runtime_secs"] = 60
    with pytest.raises(DagsterInvalidConfigError, match="max_runtime_secs"):
        load_instance(config, tmp_path)


def settings_without_a_reason(lines: list[str]) -> list[str]:
    """Lines that set a value (`key: value`, `- key: value`) with no comment on the line above nor at their end."""
    missing = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        setting = re.match(r"^-?\s*[\w/]+:\s*(\S.*)$", stripped)
        if not setting or setting.group(1).startswith("#"):
            continue  # a key that opens a block: its settings carry the reasons
        above = lines[number - 1].strip() if number else ""
        if not above.startswith("#") and "#" not in setting.group(1):
            missing.append(line)
    return missing


def test_every_instance_setting_says_why() -> None:
    assert settings_without_a_reason(INSTANCE_YAML.read_text().splitlines()) == []
    # the check itself finds a bare setting
    assert settings_without_a_reason(["a:", "  # why", "  b: 1", "  c: 2"]) == ["  c: 2"]


def test_job_runtime_and_retry_tags() -> None:
    """De-enrollment's maximum runtime is a little over its budget; only idempotent jobs are retried."""
    de_enrollment = defs.resolve_job_def("de_enrollment_job")
    budget_s = DEFAULT_MAX_RUNTIME_MS / 1000
    assert budget_s < float(de_enrollment.tags["dagster/max_runtime"]) <= budget_s * 1.5
    jobs = {job.name: job for job in defs.resolve_all_job_defs() if not job.name.startswith("__")}
    retried = {name for name, job in jobs.items() if int(job.tags.get("dagster/max_retries", 0)) > 0}
    assert retried == IDEMPOTENT_JOBS


# --- deploy/ ---------------------------------------------------------------------------------------------------


def dockerfile_cmd() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text()
    match = re.search(r"^CMD (\[.*\])$", text, flags=re.MULTILINE)
    assert match, "deploy/Dockerfile has no CMD"
    return yaml.safe_load(match.group(1))


def dockerfile_exposed_port() -> int:
    match = re.search(r"^EXPOSE (\d+)$", (DEPLOY / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert match
    return int(match.group(1))


def test_dockerfile_runs_the_code_server_command_make_dev_runs() -> None:
    port = dockerfile_exposed_port()
    ours = service_commands(ServicePorts(code_server=port, host="0.0.0.0"))["code-server"]
    # stopped port first (code_server.py says why)
    assert dockerfile_cmd() == ["python", "-m", code_server.__name__, Path(ours[0]).name, *ours[1:]]
    # the other two entry points, as the Dockerfile documents them
    text = (DEPLOY / "Dockerfile").read_text()
    for name in ("webserver", "daemon"):
        command = service_commands(ServicePorts(host="0.0.0.0"))[name]
        # the image holds the package's workspace file in DAGSTER_HOME
        documented = " ".join([Path(command[0]).name, *command[1:]]).replace(str(SERVICE_WORKSPACE), IMAGE_WORKSPACE)
        assert documented in text, documented


def test_helm_values_name_the_image_port_and_secrets_of_the_dockerfile_and_docs() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    readme = (DEPLOY / "README.md").read_text()
    dockerfile = (DEPLOY / "Dockerfile").read_text()

    (deployment,) = values["dagster-user-deployments"]["deployments"]
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    assert f"-t {image}" in dockerfile and image in readme
    assert deployment["port"] == dockerfile_exposed_port() == int(dockerfile_cmd()[-1])
    assert deployment["dagsterApiGrpcArgs"] == ["-m", DEFINITIONS_MODULE, "--location-name", CODE_LOCATION]
    assert " ".join(deployment["dagsterApiGrpcArgs"]) in shlex.join(dockerfile_cmd())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"

    secrets = {values["global"]["postgresqlSecretName"]}
    secrets |= {s["name"] for s in deployment["envSecrets"]}
    secrets |= {s["name"] for s in values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]}
    assert secrets == {"campaign-ops-dagster-postgresql", "campaign-ops-database"}
    for secret in secrets:
        assert f"kubectl create secret generic {secret}" in readme, secret
    assert values["postgresql"]["enabled"] is False and values["generatePostgresqlPasswordSecret"] is False
    # the due sensor runs in the code server: there, the variable it reads spaces the due runs (pods)
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert int(env[SPACING_ENV]) >= 30


# --- what Dagster's official chart renders from deploy/helm/values.yaml -------------------------------------------
# CI has no chart: deploy/check_chart.sh renders it by real Helm and writes deploy/helm/rendered.yaml, which these
# tests read; the first one fails when the values changed since it was written.


def check_chart() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_chart", DEPLOY / "check_chart.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rendered() -> dict[str, Any]:
    return yaml.safe_load(RENDERED.read_text())


def test_rendered_chart_output_is_of_the_current_values() -> None:
    digest = check_chart().values_sha256((DEPLOY / "helm" / "values.yaml").read_text())
    assert rendered()["values_sha256"] == digest, "values.yaml changed: run deploy/check_chart.sh CHART_DIR --write"


def chart_instance(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    """The chart's dagster.yaml, as the chart's daemon, webserver and run pods read it, its storage on
    `database_url` (the password from DAGSTER_PG_PASSWORD, as the chart gives it). Its run launcher (dagster-k8s,
    not installed here) is loaded by deploy/check_chart.sh."""
    config = rendered()["instance"]
    url = sa.make_url(database_url)
    # the embedded server listens on a Unix socket only: its directory goes in libpq's `host` parameter
    socket_dir = url.query.get("host")
    params = {"host": socket_dir} if isinstance(socket_dir, str) else {}
    for storage in ("run_storage", "event_log_storage", "schedule_storage"):
        db = config[storage]["config"]["postgres_db"]
        db.update(hostname=url.host or "localhost", port=url.port or 5432, db_name=url.database, params=params)
        db["username"] = url.username
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "unused")
    assert config.pop("run_launcher")["class"] == "K8sRunLauncher"
    return load_instance(config, tmp_path)


def test_rendered_instance_config_loads_in_dagster(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with chart_instance(empty_db_url, tmp_path, monkeypatch) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 4
        assert {limit["key"] for limit in queue.tag_concurrency_limits} == {"dagster/schedule_name", "dagster/backfill"}
        assert instance.run_monitoring_enabled and instance.run_retries_enabled


def test_daily_retention_job_prunes_with_the_charts_instance_alone(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the cluster the daily prune_runs_job runs in a run pod whose instance is the chart's: it deletes old runs
    with the instance's own credentials, needing neither DATABASE_URL nor DAGSTER_PG_URL."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    job = defs.resolve_job_def("prune_runs_job")
    with chart_instance(empty_db_url, tmp_path, monkeypatch) as instance:
        old = job.execute_in_process(instance=instance)
        # as if that run had been created 91 days ago (the schedule's retention is 90 days)
        engine = sa.create_engine(normalise_url(empty_db_url))
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE runs SET create_timestamp = create_timestamp - interval '91 days' WHERE run_id = :id"),
                {"id": old.run_id},
            )
        engine.dispose()
        pruned = job.execute_in_process(instance=instance)
        assert pruned.success
        assert instance.get_run_by_id(old.run_id) is None and instance.all_logs(old.run_id) == []
        assert instance.get_run_by_id(pruned.run_id) is not None


def test_the_chart_cannot_name_the_pooled_instance_storage(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the chart keeps Dagster's storage (deploy/README.md): the chart writes run, event-log and schedule
    storages, and Dagster refuses dagster.yaml's `storage:` beside them (e.g. through additionalInstanceConfig)."""
    rendered_storages = {
        rendered()["instance"][s]["class"] for s in ("run_storage", "event_log_storage", "schedule_storage")
    }
    assert rendered_storages == {"PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"}
    config = rendered()["instance"]
    config["storage"] = yaml.safe_load(INSTANCE_YAML.read_text())["storage"]
    (home := tmp_path / "home").mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_PG_URL", normalise_url(empty_db_url))
    with pytest.raises(DagsterInvalidConfigError, match="`storage` which is incompatible with `run_storage`"):
        dg.DagsterInstance.from_config(str(home))


def test_rendered_instance_settings_equal_the_production_dagster_yaml() -> None:
    instance = rendered()["instance"]
    ours = yaml.safe_load(INSTANCE_YAML.read_text())
    for section in ("concurrency", "run_monitoring", "run_retries", "auto_materialize", "freshness", "telemetry"):
        assert instance[section] == ours[section], section
    assert instance["run_coordinator"]["class"] == ours["run_coordinator"]["class"]
    for section in ("sensors", "schedules"):
        assert instance[section] == ours[section], section
    assert instance["retention"]["schedule"] == ours["retention"]["schedule"]
    assert instance["retention"]["sensor"] == ours["retention"]["sensor"]


def test_rendered_workspace_names_the_code_location_the_code_uses() -> None:
    """Links in checks and alerts, and `pause`, name CODE_LOCATION: the chart's workspace must too."""
    (entry,) = rendered()["workspace"]["load_from"]
    assert entry["grpc_server"]["location_name"] == CODE_LOCATION


def test_run_pods_get_the_resources_deploy_readme_states() -> None:
    """The run launcher's runK8sConfig is what a run's pod gets: no code-server container context overrides it."""
    snapshot = rendered()
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["containerConfig"]["resources"]
    assert snapshot["run_pod_resources"] == launcher
    context = snapshot["code_server_container_context"] or {}
    assert "resources" not in context.get("k8s", {})
    readme = (DEPLOY / "README.md").read_text()
    stated = (
        f"requests {launcher['requests']['cpu']} CPU and {launcher['requests']['memory']}, "
        f"limit {launcher['limits']['memory']}"
    )
    assert f"Run pods get {stated}" in readme, stated


def test_deploy_readme_pins_the_chart_to_the_installed_dagster() -> None:
    """Chart, daemon and webserver images (the chart's, tagged with its version) and the code's Dagster agree."""
    readme = (DEPLOY / "README.md").read_text()
    versions = re.findall(r"helm upgrade --install \S+ dagster/dagster --version (\S+)", readme)
    assert versions == [importlib.metadata.version("dagster")]


def test_service_workspace_points_at_the_code_server() -> None:
    workspace = yaml.safe_load(SERVICE_WORKSPACE.read_text())
    (entry,) = workspace["load_from"]
    server = entry["grpc_server"]
    assert server["location_name"] == CODE_LOCATION
    assert server["host"] == {"env": "CAMPAIGN_OPS_CODE_SERVER_HOST"}
    assert server["port"] == {"env": "CAMPAIGN_OPS_CODE_SERVER_PORT"}
