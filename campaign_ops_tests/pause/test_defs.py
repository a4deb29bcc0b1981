"""SOP Level 3, "stop processing immediately", the Dagster side: one command records the pause in the app database,
stops every writing schedule and sensor (resume starts exactly those), refuses manual runs of writing jobs and
lists those still in flight. Alerting and checks are left running."""

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
from sqlalchemy import Connection, create_engine, text

from campaign_ops.definitions import defs
from campaign_ops.pause.core import current_pause, record_pause, record_resume
from campaign_ops.pause.defs import (
    WRITES_TAG,
    pause_processing,
    resume_processing,
    switch_automations,
    switch_writing_automations,
    writing,
    writing_runs_in_flight,
)
from campaign_ops.service.environment import INSTANCE_YAML
from campaign_ops_tests.de_enrollment.conftest import make_client

WRITING_SCHEDULES = {
    "de_enrollment_sweep_schedule",
    "stats_reconciliation_schedule",
    "monthly_archival_schedule",
    "de_enrollment_due_sensor",  # a sensor, launching the de-enrollment runs for clients with due leads
}


def test_exactly_the_writing_automations_are_tagged() -> None:
    tagged = {s.name for s in defs.schedules or [] if s.tags.get(WRITES_TAG)}
    tagged |= {s.name for s in defs.sensors or [] if s.tags.get(WRITES_TAG)}
    assert tagged == WRITING_SCHEDULES
    # alerting stays on: no alert or check sensor is among them
    assert not any("alert" in n or "check" in n for n in tagged)
    # what the pause reads from the definitions: each writing job, asset, schedule and sensor says so itself
    writes = writing(defs.get_repository_def())
    assert writes.automations == WRITING_SCHEDULES
    assert writes.jobs == {
        "de_enrollment_job",
        "de_enrollment_sweep_job",
        "stats_reconciliation_job",
        "monthly_archival_job",
    }
    assert {k.to_user_string() for k in writes.assets} == {
        "leads",
        "campaigns",
        "de_enrollment_runs",
        "campaign_stats_reconciliation",
        "monitoring_archives",
    }


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
        record_pause(conn, by="oncall", reason="duplicates found")
        assert current_pause(conn) is not None
        for job in ("de_enrollment_job", "stats_reconciliation_job", "monthly_archival_job"):
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, partition_key=client.client_id, raise_on_error=False
            )
            assert not result.success, job
            (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
            message = failure.step_failure_data.error.message  # type: ignore[union-attr]
            assert "processing is paused (paused by oncall" in message and "campaign-ops resume" in message
            assert "resume_processing_job" in message
            # a refusal is not a failure: canceled, no RUN_FAILURE (no alert, no partition painted failed)
            assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.CANCELED  # type: ignore[union-attr]
            assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE]
            status = instance.get_status_by_partition(
                next(iter(defs.resolve_job_def(job).asset_layer.executable_asset_keys)),
                [client.client_id],
                defs.resolve_job_def(job).partitions_def,  # type: ignore[arg-type]
            )
            assert dg.AssetPartitionStatus.FAILED not in status.values(), (job, status)
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

        record_resume(conn, by="oncall")
        assert current_pause(conn) is None
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


def test_pause_and_resume_commands(empty_db_url: str, db_env: str, tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(INSTANCE_YAML)
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_URL": empty_db_url}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "campaign_ops.cli", *args], env=env, capture_output=True, text=True, timeout=180
        )

    paused = cli("pause", "--reason", "SOP level 3")
    assert paused.returncode == 0, paused.stderr[-2000:]
    for name in WRITING_SCHEDULES:
        assert f"{_kind(name)} {name}: stopped" in paused.stdout
    assert ": SOP level 3; every write of lead or campaign data is refused" in paused.stdout
    assert "no writing run in flight" in paused.stdout
    again = cli("pause")
    assert "schedule de_enrollment_sweep_schedule: already stopped" in again.stdout
    resumed = cli("resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    for name in WRITING_SCHEDULES:
        assert f"{_kind(name)} {name}: started" in resumed.stdout
    assert "resumed (paused by" in resumed.stdout
    with create_engine(db_env).connect() as conn:
        assert current_pause(conn) is None


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
        state = current_pause(conn)
        assert state is not None and state.reason == "duplicates" and paused.run_id[:8] in state.by
        states = {s.instigator_name: s.status.value for s in instance.all_instigator_state()}
        assert all(states[n] == "STOPPED" for n in WRITING_SCHEDULES), states
        refused = defs.resolve_job_def("de_enrollment_job").execute_in_process(
            instance=instance, partition_key=client.client_id, raise_on_error=False
        )
        assert not refused.success
        assert conn.execute(text("SELECT count(*) FROM de_enrollment_runs")).scalar() == 0

        assert defs.resolve_job_def("resume_processing_job").execute_in_process(instance=instance).success
        assert current_pause(conn) is None
        states = {s.instigator_name: s.status.value for s in instance.all_instigator_state()}
        assert all(states[n] == "RUNNING" for n in WRITING_SCHEDULES), states
        assert (
            defs.resolve_job_def("de_enrollment_job")
            .execute_in_process(instance=instance, partition_key=client.client_id)
            .success
        )


def test_resume_gives_back_exactly_what_pause_found(conn: Connection, db_env: str) -> None:
    """A schedule already off before the pause stays off after resume; what the pause stopped starts again."""
    with dg.instance_for_test() as instance:
        switch_automations(instance, running=False, names={"monthly_archival_schedule"})
        report = pause_processing(conn, instance, by="oncall", reason="incident", wait_s=1)
        assert "schedule monthly_archival_schedule: already stopped" in report.lines(paused=True)
        pause = current_pause(conn)
        assert pause is not None and set(pause.stopped) == WRITING_SCHEDULES - {"monthly_archival_schedule"}
        # the UI's place for it: the processing_pause asset's latest observation
        (observed,) = instance.fetch_observations(dg.AssetKey("processing_pause"), limit=1).records
        observation = observed.asset_observation
        assert observation is not None and observation.description is not None
        assert (
            observation.description.startswith("PAUSED: paused by oncall at ")
            and ": incident." in observation.description
        )
        assert "`campaign-ops resume`" in observation.description and "resume_processing_job" in observation.description
        # paused again (someone started one by hand meanwhile): it is stopped and added to what resume starts
        switch_automations(instance, running=True, names={"stats_reconciliation_schedule"})
        again = pause_processing(conn, instance, by="someone", reason="", wait_s=1)
        assert not again.new and "already paused by oncall" in "\n".join(again.lines(paused=True))
        resumed = resume_processing(conn, instance, by="oncall")
        (observed,) = instance.fetch_observations(dg.AssetKey("processing_pause"), limit=1).records
        assert observed.asset_observation is not None
        assert observed.asset_observation.description == "running: processing is not paused (resumed by oncall)"
        assert {s.name for s in resumed.switched} == WRITING_SCHEDULES - {"monthly_archival_schedule"}
        states = {s.instigator_name: s.status.value for s in instance.all_instigator_state()}
        assert states["monthly_archival_schedule"] == "STOPPED"
        assert all(states[n] == "RUNNING" for n in WRITING_SCHEDULES - {"monthly_archival_schedule"}), states


def test_pause_and_resume_with_the_instance_database_unreachable_say_so_in_one_line(
    conn: Connection, db_env: str, tmp_path: Path
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(INSTANCE_YAML)
    # nothing listens on port 1: refused at once
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_URL": "postgresql://u:secret@127.0.0.1:1/dagster"}

    def cli(*args: str) -> tuple[subprocess.CompletedProcess, float]:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "campaign_ops.cli", *args], env=env, capture_output=True, text=True, timeout=60
        )
        return proc, time.monotonic() - started

    paused, took = cli("pause", "--reason", "instance down")
    assert paused.returncode == 1 and took < 8, (took, paused.stderr)
    (line,) = paused.stderr.splitlines()
    assert line.startswith("error: paused in the application database (every write is refused), but the writing")
    assert "DAGSTER_PG_URL: cannot connect to PostgreSQL at" in line and "secret" not in line
    # the pause is in force all the same: the app database refuses writes
    assert current_pause(conn) is not None
    conn.commit()
    resumed, took = cli("resume")
    assert resumed.returncode == 1 and took < 8, (took, resumed.stderr)
    (line,) = resumed.stderr.splitlines()
    assert "DAGSTER_PG_URL: cannot connect to PostgreSQL at" in line and "Traceback" not in resumed.stderr
    assert current_pause(conn) is not None  # nothing changed: still paused


def test_run_job_of_a_writing_job_while_paused_is_one_line_and_creates_no_run(
    conn: Connection, db_env: str, empty_db_url: str, tmp_path: Path
) -> None:
    client = make_client(conn, due=3)
    conn.commit()
    record_pause(conn, by="oncall", reason="duplicates")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(INSTANCE_YAML)
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_URL": empty_db_url}
    proc = subprocess.run(
        [sys.executable, "-m", "campaign_ops.cli", "run-job", "de_enrollment_job", "--client-id", client.client_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: processing is paused (paused by oncall at ") and "resume_processing_job" in line
    assert conn.execute(text("SELECT count(*) FROM de_enrollment_runs")).scalar() == 0


def test_a_reconciliation_run_paused_while_it_works_ends_canceled(conn: Connection, db_env: str) -> None:
    """Past its door check, the run meets the database's refusal at its first client: canceled, not failed."""
    client = make_client(conn)
    conn.execute(text("UPDATE campaigns SET active_leads_count = 999"))
    # stands for a pause committed while the run works: the refusal trigger then sees a pause in force (this one
    # is the writer's own, rolled back with it; trigger names fire in alphabetical order)
    conn.execute(
        text(
            """
            CREATE FUNCTION pause_now() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO processing_pauses (paused_by) VALUES ('oncall'); RETURN NULL; END $$;
            CREATE TRIGGER a_pause_now BEFORE INSERT ON stats_reconciliation_log
                FOR EACH STATEMENT EXECUTE FUNCTION pause_now();
            """
        )
    )
    conn.commit()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", [client.client_id])
        result = defs.resolve_job_def("stats_reconciliation_job").execute_in_process(
            instance=instance, partition_key=client.client_id, raise_on_error=False
        )
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.CANCELED
        (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        message = failure.step_failure_data.error.message  # type: ignore[union-attr]
        assert "stopped at client" in message and "processing is paused (paused by oncall" in message
    assert conn.execute(text("SELECT count(*) FROM campaigns WHERE active_leads_count = 999")).scalar() == 1
