"""SOP Level 3, "stop processing immediately": one command stops every writing schedule, refuses manual runs of
writing jobs and lists those still in flight; resume undoes it. Alerting and checks are left running."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Connection, text

from campaign_ops.definitions import defs
from campaign_ops.pause import (
    WRITES_TAG,
    clear_pause,
    pause_state,
    set_pause,
    switch_writing_automations,
    writing_runs_in_flight,
)
from campaign_ops_tests.de_enrollment.conftest import make_client

WRITING_SCHEDULES = {
    "de_enrollment_sweep_schedule",
    "stats_reconciliation_schedule",
    "monthly_archival_schedule",
    "de_enrollment_due_sensor",  # a sensor, launching the de-enrollment runs for clients with due leads
}
AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # only recorded in the flag, never compared with the clock


def test_exactly_the_writing_automations_are_tagged() -> None:
    tagged = {s.name for s in defs.schedules or [] if s.tags.get(WRITES_TAG)}
    tagged |= {s.name for s in defs.sensors or [] if s.tags.get(WRITES_TAG)}
    assert tagged == WRITING_SCHEDULES
    # alerting stays on: no alert or check sensor is among them
    assert not any("alert" in n or "check" in n for n in tagged)


def test_pause_stops_and_resume_starts_the_writing_schedules_through_the_instance() -> None:
    with dg.instance_for_test() as instance:
        stopped = switch_writing_automations(instance, running=False)
        assert {s.name for s in stopped} == WRITING_SCHEDULES and all(s.was_running for s in stopped)
        # the state the daemon and the UI read (by selector id), for every schedule of the location
        states = {s.instigator_name: s.status.value for s in instance.all_instigator_state()}
        assert all(states[n] == "STOPPED" for n in WRITING_SCHEDULES), states
        assert "integrity_checks_schedule" not in states  # untouched: still on its default (running)
        again = switch_writing_automations(instance, running=False)
        assert not any(s.was_running for s in again)
        started = switch_writing_automations(instance, running=True)
        assert not any(s.was_running for s in started)
        states = {s.instigator_name: s.status.value for s in instance.all_instigator_state()}
        assert all(states[n] == "RUNNING" for n in WRITING_SCHEDULES)


def test_while_paused_a_manual_run_of_a_writing_job_changes_nothing(conn: Connection, db_env: str) -> None:
    client = make_client(conn, due=3)
    conn.commit()
    active = "SELECT count(*) FROM leads WHERE is_active"
    before = conn.execute(text(active)).scalar()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", [client.client_id])
        set_pause(instance, by="oncall", at=AT, reason="duplicates found")
        assert pause_state(instance) is not None
        for job in ("de_enrollment_job", "stats_reconciliation_job", "monthly_archival_job"):
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, partition_key=client.client_id, raise_on_error=False
            )
            assert not result.success, job
            (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
            message = failure.step_failure_data.error.message  # type: ignore[union-attr]
            assert "processing is paused (paused by oncall" in message and "campaign-ops resume" in message
        # the schedule's own job too, launched by hand from the Launchpad
        sweep = defs.resolve_job_def("de_enrollment_sweep_job").execute_in_process(
            instance=instance, raise_on_error=False
        )
        assert not sweep.success
        assert conn.execute(text(active)).scalar() == before
        assert conn.execute(text("SELECT count(*) FROM de_enrollment_runs")).scalar() == 0
        # a check-only job is not writing: it still runs while paused
        checks = defs.resolve_job_def("integrity_checks_job").execute_in_process(
            instance=instance, tags={"dagster/partition": client.client_id}
        )
        assert checks.success

        clear_pause(instance)
        assert pause_state(instance) is None
        resumed = defs.resolve_job_def("de_enrollment_job").execute_in_process(
            instance=instance, partition_key=client.client_id
        )
        assert resumed.success
    assert conn.execute(text(active)).scalar() == before - 3 - 2


def test_runs_in_flight_are_the_writing_ones(db_env: str) -> None:
    with dg.instance_for_test() as instance:
        writing = instance.create_run_for_job(
            defs.resolve_job_def("de_enrollment_job"), status=dg.DagsterRunStatus.NOT_STARTED
        )
        sweep = instance.create_run_for_job(
            defs.resolve_job_def("de_enrollment_sweep_job"), status=dg.DagsterRunStatus.NOT_STARTED
        )
        instance.create_run_for_job(defs.resolve_job_def("schema_contract_job"), status=dg.DagsterRunStatus.NOT_STARTED)
        instance.create_run_for_job(defs.resolve_job_def("de_enrollment_job"), status=dg.DagsterRunStatus.SUCCESS)
        assert {r.run_id for r in writing_runs_in_flight(instance)} == {writing.run_id, sweep.run_id}


def _kind(name: str) -> str:
    return "sensor" if name.endswith("_sensor") else "schedule"


def test_pause_and_resume_commands(
    empty_db_url: str, db_env: str, tmp_path: Path, project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(project_root / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_URL": empty_db_url}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "campaign_ops.cli", *args], env=env, capture_output=True, text=True, timeout=180
        )

    paused = cli("pause", "--reason", "SOP level 3")
    assert paused.returncode == 0, paused.stderr[-2000:]
    for name in WRITING_SCHEDULES:
        assert f"{_kind(name)} {name}: stopped" in paused.stdout
    assert ": SOP level 3; new runs of writing jobs are refused until `campaign-ops resume`" in paused.stdout
    assert "no writing run in flight" in paused.stdout
    again = cli("pause")
    assert "schedule de_enrollment_sweep_schedule: already stopped" in again.stdout
    resumed = cli("resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    for name in WRITING_SCHEDULES:
        assert f"{_kind(name)} {name}: started" in resumed.stdout
    assert "resumed (paused by" in resumed.stdout
    for key, value in {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": empty_db_url}.items():
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.get() as instance:
        assert pause_state(instance) is None


def test_pause_and_resume_are_one_launch_each_in_the_ui(conn: Connection, db_env: str) -> None:
    """The UI's door: Launchpad → pause_processing_job does what `campaign-ops pause` does; resume undoes it."""
    client = make_client(conn, due=3)
    conn.commit()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", [client.client_id])
        paused = defs.resolve_job_def("pause_processing_job").execute_in_process(
            instance=instance, run_config={"ops": {"pause_processing": {"config": {"reason": "duplicates"}}}}
        )
        assert paused.success
        state = pause_state(instance)
        assert state is not None and state.reason == "duplicates" and paused.run_id[:8] in state.by
        states = {s.instigator_name: s.status.value for s in instance.all_instigator_state()}
        assert all(states[n] == "STOPPED" for n in WRITING_SCHEDULES), states
        refused = defs.resolve_job_def("de_enrollment_job").execute_in_process(
            instance=instance, partition_key=client.client_id, raise_on_error=False
        )
        assert not refused.success
        assert conn.execute(text("SELECT count(*) FROM de_enrollment_runs")).scalar() == 0

        assert defs.resolve_job_def("resume_processing_job").execute_in_process(instance=instance).success
        assert pause_state(instance) is None
        states = {s.instigator_name: s.status.value for s in instance.all_instigator_state()}
        assert all(states[n] == "RUNNING" for n in WRITING_SCHEDULES), states
        assert (
            defs.resolve_job_def("de_enrollment_job")
            .execute_in_process(instance=instance, partition_key=client.client_id)
            .success
        )
