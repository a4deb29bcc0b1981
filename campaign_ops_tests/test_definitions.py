import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from campaign_ops.definitions import defs
from campaign_ops.errors import ConfigError


def test_definitions_load_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_sensor_def("clients_partition_sync_sensor") is not None


@pytest.mark.parametrize(
    "command",
    [
        ["dagster", "definitions", "validate", "-w", "workspace.yaml"],
        ["dg", "check", "defs"],
    ],
    ids=["dagster-definitions-validate", "dg-check-defs"],
)
def test_code_location_loads_with_the_dagster_tools(command: list[str], project_root: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DAGSTER_HOME"] = str(tmp_path)
    exe = Path(sys.executable).parent / command[0]
    proc = subprocess.run(
        [str(exe), *command[1:]], cwd=project_root, env=env, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def code_links(definitions: dg.Definitions) -> dict[str, dg.LocalFileCodeReference | dg.UrlCodeReference]:
    graph = definitions.get_repository_def().asset_graph
    links = {}
    for key in graph.get_all_asset_keys():
        references = graph.get(key).metadata.get("dagster/code_references")
        assert references is not None, f"{key.to_user_string()} has no source link"
        (links[key.to_user_string()],) = references.code_references
    return links


def test_every_asset_links_to_its_code_by_a_path_in_the_repository_never_the_servers(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAMPAIGN_OPS_REPOSITORY_URL", raising=False)
    from campaign_ops.definitions import code_location

    for definitions in (defs, code_location()):  # what tests run, and what Dagster loads without the setting
        for asset, link in code_links(definitions).items():
            assert isinstance(link, dg.LocalFileCodeReference), (asset, link)
            # relative to the repository's root: no server path to show, and it names a real file and line
            assert not Path(link.file_path).is_absolute() and link.file_path.startswith("campaign_ops/"), link
            lines = (project_root / link.file_path).read_text().splitlines()
            assert link.line_number is not None and 1 < link.line_number <= len(lines), link
    # an asset computed by a function links to it; one only declared, to the function doing its work
    assert code_links(defs)["leads"].file_path == "campaign_ops/de_enrollment/defs.py"
    assert code_links(defs)["processing_pause"].label == "campaign_ops.pause.core.record_pause"


def test_with_a_repository_url_the_code_location_links_each_asset_to_its_file_there(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from campaign_ops.definitions import code_location

    monkeypatch.setenv("CAMPAIGN_OPS_REPOSITORY_URL", "https://github.com/acme/campaign-ops/")
    monkeypatch.setenv("CAMPAIGN_OPS_REPOSITORY_BRANCH", "release")
    local = code_links(defs)
    for asset, link in code_links(code_location()).items():
        assert isinstance(link, dg.UrlCodeReference), (asset, link)
        file = local[asset]
        assert link.url == f"https://github.com/acme/campaign-ops/blob/release/{file.file_path}#L{file.line_number}"
    monkeypatch.setenv("CAMPAIGN_OPS_REPOSITORY_URL", "git@github.com:acme/campaign-ops.git")
    with pytest.raises(ConfigError, match="CAMPAIGN_OPS_REPOSITORY_URL must be an http"):
        code_location()


def test_dagster_autodiscovery_loads_the_code_location_function_not_the_defs_object(
    project_root: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"DAGSTER_HOME": str(tmp_path), "CAMPAIGN_OPS_REPOSITORY_URL": "https://gitlab.com/acme/campaign-ops"}
    script = (
        "from dagster._core.workspace.autodiscovery import loadable_targets_from_python_module as t;"
        "print([x.attribute for x in t('campaign_ops.definitions', None)])"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=project_root, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "['code_location']", proc.stdout + proc.stderr


def test_every_asset_has_an_owner() -> None:
    graph = defs.get_repository_def().asset_graph
    unowned = [k.to_user_string() for k in graph.get_all_asset_keys() if not graph.get(k).owners]
    assert not unowned, unowned
