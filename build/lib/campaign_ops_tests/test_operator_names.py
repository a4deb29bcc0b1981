"""The names operators see in the Dagster UI and type on the command line — jobs, schedules (with their cron,
time zone, job and default status), sensors, assets and asset checks — are a checked-in list, so a rename is a
reviewed change: this test fails on any difference and says how to accept it.

To accept an intended change: `.venv/bin/python -m campaign_ops_tests.test_operator_names`, which rewrites
campaign_ops_tests/operator_names.txt; review and commit the diff with the change.
"""

import sys
import warnings
from pathlib import Path

EXPECTED = Path(__file__).with_name("operator_names.txt")
UPDATE_COMMAND = ".venv/bin/python -m campaign_ops_tests.test_operator_names"
HEADER = (
    "# Operator-visible names of the campaign_ops code location (campaign_ops.definitions).\n"
    f"# Checked by campaign_ops_tests/test_operator_names.py; regenerate with `{UPDATE_COMMAND}`.\n"
)


def operator_names() -> list[str]:
    """One line per operator-visible definition, sorted by kind and name."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # preview warnings of partitioned checks: not what this test is about
        from campaign_ops.definitions import defs

        repository = defs.get_repository_def()
    # Dagster's implicit asset job is named by Dagster, not by us
    lines = [f"job {job.name}" for job in repository.get_all_jobs() if not job.name.startswith("__")]
    lines += [
        f"schedule {s.name}: {s.cron_schedule!s} {s.execution_timezone or 'UTC (default)'} -> {s.job_name}"
        f" ({s.default_status.value.lower()})"
        for s in repository.schedule_defs
    ]
    lines += [f"sensor {s.name} ({s.default_status.value.lower()})" for s in repository.sensor_defs]
    graph = repository.asset_graph
    lines += [f"asset {key.to_user_string()}" for key in graph.get_all_asset_keys()]
    lines += [f"asset_check {check.asset_key.to_user_string()}:{check.name}" for check in graph.asset_check_keys]
    kinds = ["job", "schedule", "sensor", "asset", "asset_check"]
    return sorted(lines, key=lambda line: (kinds.index(line.split(" ", 1)[0]), line))


def test_every_schedule_is_named_after_the_job_it_starts() -> None:
    """One naming pattern, so an operator who knows a job knows its schedule: `<job>_job` runs on `<job>_schedule`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from campaign_ops.definitions import defs

        schedules = defs.get_repository_def().schedule_defs
    misnamed = [
        f"{s.name} -> {s.job_name}" for s in schedules if s.name != s.job_name.removesuffix("_job") + "_schedule"
    ]
    assert schedules and not misnamed, misnamed


def render(lines: list[str]) -> str:
    return HEADER + "".join(f"{line}\n" for line in lines)


def test_operator_visible_names_are_the_reviewed_ones() -> None:
    actual = operator_names()
    expected = [line for line in EXPECTED.read_text().splitlines() if line and not line.startswith("#")]
    removed = [line for line in expected if line not in actual]
    added = [line for line in actual if line not in expected]
    assert not (removed or added), (
        "the operator-visible names changed (operators find jobs, schedules and checks by these names):\n"
        + "".join(f"  - {line}\n" for line in removed)
        + "".join(f"  + {line}\n" for line in added)
        + f"if the change is intended, run `{UPDATE_COMMAND}` and commit {EXPECTED.name} with it"
    )


if __name__ == "__main__":
    EXPECTED.write_text(render(operator_names()))
    sys.stdout.write(f"wrote {EXPECTED}\n")
