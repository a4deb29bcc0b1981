"""A de-enrollment run that materializes client partitions, however launched: each check of its assets must show
a real evaluation of that run, never "Not evaluated" (the asset materialized since) nor, for a run launched from
the UI as a backfill (a backfill from the job's Partitions tab, Materialize in the catalog: Dagster plans every
check of the selected assets), the "Skipped" (or, after a failed run, "Failed") of a planned check that did not
run.

The run here is what the backfill daemon creates: the job subset to the asset selection the UI sends
(`JobDefinition.get_subset(asset_selection=...)`, which the code server calls for it), with the partition's tag."""

import dagster as dg
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)
from sqlalchemy import Connection, Engine, text

from campaign_ops.assets import DE_ENROLLMENT_ASSETS
from campaign_ops.checks import defs as checks
from campaign_ops.clients.partition_keys import client_names, partition_key
from campaign_ops.clients.tags import RANGE_END_TAG, RANGE_START_TAG
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.defs import de_enrollment_job
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.definitions import defs
from campaign_ops_tests.de_enrollment.conftest import make_client
from campaign_ops_tests.de_enrollment.test_defs import lead_log_refuses


def ui_launched_job() -> dg.JobDefinition:
    """de_enrollment_job as a UI backfill runs it: subset to the job's assets, without a check selection."""
    return defs.resolve_job_def(de_enrollment_job.name).get_subset(asset_selection=set(DE_ENROLLMENT_ASSETS))


def checks_on_de_enrollment_assets() -> set[dg.AssetCheckKey]:
    return {k for k in defs.resolve_asset_graph().asset_check_keys if k.asset_key in DE_ENROLLMENT_ASSETS}


def latest(instance: dg.DagsterInstance, keys: set[dg.AssetCheckKey]) -> dict[str, AssetCheckExecutionRecord]:
    """Each check's latest execution: what the UI shows as its result."""
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(keys))
    return {k.name: r for k, r in records.items()}


def key_of(conn: Connection, client_id: str) -> str:
    return partition_key(client_id, client_names(conn, [client_id])[client_id])


def test_a_one_client_backfill_from_the_ui_leaves_real_results_on_every_check_of_its_assets(
    conn: Connection, engine: Engine, db_env: str
) -> None:
    client, other = make_client(conn, due=1), make_client(conn)
    conn.commit()
    # a lead due again although its enrollment was already de-enrolled: the backfill's pass leaves it (skipped)
    de_enroll_clients(engine, [client.client_id], DeEnrollmentSettings())
    again = client.due_completed[0]
    conn.execute(text("UPDATE leads SET is_active = true, completed_at = NULL WHERE id = :l"), {"l": again})
    conn.commit()
    key, name = key_of(conn, client.client_id), client_names(conn, [client.client_id])[client.client_id]
    planned = checks_on_de_enrollment_assets()
    assert {"skipped_de_enrollments", "stuck_leads", "stats_drift"} <= {k.name for k in planned}

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", [key, key_of(conn, other.client_id)])
        # the checks' earlier results, from their own jobs
        defs.resolve_job_def("skipped_de_enrollments_job").execute_in_process(instance=instance)

        result = ui_launched_job().execute_in_process(instance=instance, partition_key=key)
        assert result.success
        # Dagster planned every check of the three assets in this run (what the UI shows as the check's latest)
        assert {e.check_name for e in result.get_asset_check_evaluations()} == {k.name for k in planned}
        shown = latest(instance, planned)
        for check_name, record in shown.items():
            assert record.run_id == result.run_id, check_name
            assert record.status in (
                AssetCheckExecutionRecordStatus.SUCCEEDED,
                AssetCheckExecutionRecordStatus.FAILED,
            ), f"{check_name}: {record.status} (a finished run's planned check reads 'Skipped' in the UI)"
        skipped = shown["skipped_de_enrollments"]
        assert skipped.status == AssetCheckExecutionRecordStatus.FAILED  # the lead the pass left: a real finding
        evaluation = skipped.evaluation
        assert evaluation is not None and evaluation.description is not None
        # the run's client answered first, every client judged
        assert evaluation.description.startswith(f"{name} ({client.client_id}): "), evaluation.description
        assert "All active clients: " in evaluation.description

        # the integrity checks were evaluated in the run: no second run of them after it
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        decision = checks.integrity_checks_after(run, instance)
        assert isinstance(decision, dg.SkipReason), decision
        assert "evaluated the integrity checks itself" in (decision.skip_message or "")


def test_a_failed_backfill_from_the_ui_leaves_real_results_not_failed_ones(
    conn: Connection, engine: Engine, db_env: str
) -> None:
    good, bad = make_client(conn), make_client(conn)
    lead_log_refuses(conn, bad.client_id)
    keys = sorted([key_of(conn, good.client_id), key_of(conn, bad.client_id)])
    planned = checks_on_de_enrollment_assets()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", keys)
        result = ui_launched_job().execute_in_process(
            instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}, raise_on_error=False
        )
        assert not result.success  # one client failed: the run says so ...
        shown = latest(instance, planned)
        assert set(shown) == {k.name for k in planned}
        for check_name, record in shown.items():  # ... and the checks say what they found, not "Failed"
            assert record.run_id == result.run_id, check_name
            assert record.status != AssetCheckExecutionRecordStatus.PLANNED, check_name
        # over several clients, no client is answered first
        stuck = shown["stuck_leads"].evaluation
        assert stuck is not None and stuck.metadata["scope"].value == "all active clients"
        assert "asked_client" not in stuck.metadata


def test_a_run_of_the_job_itself_evaluates_every_check_of_what_it_materialized(conn: Connection, db_env: str) -> None:
    """The CLI's and the Launchpad's one-client runs select no check, but they materialize the client's partitions:
    the UI shows a check's result only for its asset's latest materialization ("Not evaluated" otherwise, until the
    check runs again: hourly for skipped_de_enrollments), so the run evaluates them before it ends."""
    client = make_client(conn)
    conn.commit()
    key = key_of(conn, client.client_id)
    planned = checks_on_de_enrollment_assets()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", [key])
        result = defs.resolve_job_def(de_enrollment_job.name).execute_in_process(instance=instance, partition_key=key)
        assert result.success
        assert {e.check_name for e in result.get_asset_check_evaluations()} == {k.name for k in planned}
        shown = latest(instance, planned)
        assert {name: r.run_id for name, r in shown.items()} == {k.name: result.run_id for k in planned}
        assert all(r.status == AssetCheckExecutionRecordStatus.SUCCEEDED for r in shown.values()), shown
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and isinstance(checks.integrity_checks_after(run, instance), dg.SkipReason)
