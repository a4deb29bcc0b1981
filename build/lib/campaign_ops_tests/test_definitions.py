import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from campaign_ops.definitions import defs


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


def test_every_asset_links_to_the_code_that_does_its_work() -> None:
    from pathlib import Path

    from campaign_ops.definitions import defs as all_defs

    graph = all_defs.get_repository_def().asset_graph
    for key in graph.get_all_asset_keys():
        references = graph.get(key).metadata.get("dagster/code_references")
        assert references is not None, f"{key.to_user_string()} has no source link"
        (reference,) = references.code_references
        assert Path(reference.file_path).is_file() and reference.line_number > 1, reference
