"""The production instance config and the deployment files agree with Dagster and with each other."""

import re
import shlex
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.errors import DagsterInvalidConfigError

from campaign_ops.db.urls import normalise_url
from campaign_ops.de_enrollment.settings import DEFAULT_MAX_RUNTIME_MS
from campaign_ops.definitions import defs
from campaign_ops.service.supervisor import ServicePorts, service_commands
from campaign_ops.ui_url import CODE_LOCATION, DEFINITIONS_MODULE

ROOT = Path(__file__).resolve().parents[2]
DAGSTER_YAML = ROOT / "dagster.yaml"
DEPLOY = ROOT / "deploy"
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
    config = yaml.safe_load(DAGSTER_YAML.read_text())
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
        assert instance.get_settings("telemetry") == {"enabled": False}
        assert instance.get_settings("retention")["schedule"] == {"purge_after_days": 90}


def test_dagster_config_schema_catches_a_misspelled_setting(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the test above: the same loading refuses a setting Dagster does not know."""
    monkeypatch.setenv("DAGSTER_PG_URL", normalise_url(empty_db_url))
    config = yaml.safe_load(DAGSTER_YAML.read_text())
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
    assert settings_without_a_reason(DAGSTER_YAML.read_text().splitlines()) == []
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
    assert dockerfile_cmd() == [Path(ours[0]).name, *ours[1:]]
    # the other two entry points, as the Dockerfile documents them
    text = (DEPLOY / "Dockerfile").read_text()
    for name in ("webserver", "daemon"):
        command = service_commands(ServicePorts(host="0.0.0.0"))[name]
        documented = " ".join([Path(command[0]).name, *command[1:]]).replace(str(ROOT) + "/", "")
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


def test_helm_instance_settings_equal_the_production_dagster_yaml() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    ours = yaml.safe_load(DAGSTER_YAML.read_text())
    extra = values["additionalInstanceConfig"]
    for section in ("concurrency", "run_monitoring", "run_retries", "auto_materialize", "freshness"):
        assert extra[section] == ours[section], section
    daemon = values["dagsterDaemon"]
    assert daemon["runCoordinator"]["type"] == ours["run_coordinator"]["class"]
    assert daemon["sensors"] == {"useThreads": True, "numWorkers": ours["sensors"]["num_workers"]}
    assert daemon["schedules"] == {"useThreads": True, "numWorkers": ours["schedules"]["num_workers"]}
    assert values["retention"]["schedule"]["purgeAfterDays"] == ours["retention"]["schedule"]["purge_after_days"]
    assert values["retention"]["sensor"]["purgeAfterDays"] == ours["retention"]["sensor"]["purge_after_days"]
    assert values["telemetry"] == ours["telemetry"] == {"enabled": False}


def test_service_workspace_points_at_the_code_server() -> None:
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    server = entry["grpc_server"]
    assert server["location_name"] == CODE_LOCATION
    assert server["host"] == {"env": "CAMPAIGN_OPS_CODE_SERVER_HOST"}
    assert server["port"] == {"env": "CAMPAIGN_OPS_CODE_SERVER_PORT"}
