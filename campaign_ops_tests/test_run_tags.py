"""Any way a person materializes a client — the job, a backfill, or Materialize in the catalog (the implicit
__ASSET_JOB) — gets the same executor, run tags and after-run checks."""

import dagster as dg
from sqlalchemy import Connection

from campaign_ops.checks import defs as checks
from campaign_ops.clients.partition_keys import CLIENT_TAG, client_names, partition_key
from campaign_ops.definitions import defs
from campaign_ops.resources import DatabaseResource
from campaign_ops.run_tags import run_tags_sensor
from campaign_ops_tests.de_enrollment.conftest import make_client

DE_ENROLLMENT_ASSETS = {dg.AssetKey("leads"), dg.AssetKey("campaigns"), dg.AssetKey("de_enrollment_runs")}


def asset_job() -> dg.JobDefinition:
    return defs.resolve_implicit_global_asset_job_def()


def test_the_catalogs_asset_job_runs_in_process_like_the_jobs() -> None:
    assert asset_job().executor_def.name == dg.in_process_executor.name
    assert defs.resolve_job_def("de_enrollment_job").executor_def.name == dg.in_process_executor.name


def test_materialize_from_the_catalog_gets_the_jobs_tags_the_client_name_and_the_checks_after(
    conn: Connection, db_env: str, db_url: str
) -> None:
    a = make_client(conn, due=2)
    conn.commit()
    name = client_names(conn, [a.client_id])[a.client_id]
    key = partition_key(a.client_id, name)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", [key])
        # what Materialize in the catalog creates: a run of __ASSET_JOB with only the partition tag
        queued = instance.create_run_for_job(
            asset_job(),
            asset_selection=DE_ENROLLMENT_ASSETS,
            tags={"dagster/partition": key, "dagster/max_retries": "0"},  # the person's own value is kept
            status=dg.DagsterRunStatus.NOT_STARTED,  # QUEUED would need a code-server origin
        )
        finished = instance.create_run_for_job(
            asset_job(),
            asset_selection=DE_ENROLLMENT_ASSETS,
            tags={"dagster/partition": key},
            status=dg.DagsterRunStatus.SUCCESS,
        )
        context = dg.build_sensor_context(instance=instance, resources={"database": DatabaseResource(url=db_url)})
        result = run_tags_sensor(context)
        assert isinstance(result, dg.SkipReason) and "tagged 1 of 1" in (result.skip_message or "")
        tags = instance.get_run_by_id(queued.run_id).tags  # type: ignore[union-attr]
        assert tags["dagster/max_runtime"] == defs.resolve_job_def("de_enrollment_job").tags["dagster/max_runtime"]
        assert tags["dagster/max_retries"] == "0"
        assert tags[CLIENT_TAG] == name
        assert CLIENT_TAG not in instance.get_run_by_id(finished.run_id).tags  # type: ignore[union-attr]
        # a second tick has nothing left to do
        again = run_tags_sensor(context)
        assert isinstance(again, dg.SkipReason) and "tagged 0 of 1" in (again.skip_message or "")

        # the run itself, as the catalog runs it: in process; it evaluates the checks of the assets it
        # materialized itself, each answering for that client first
        run = asset_job().execute_in_process(
            instance=instance, asset_selection=list(DE_ENROLLMENT_ASSETS), tags={"dagster/partition": key}
        )
        assert run.success
        assert instance.get_materialized_partitions(dg.AssetKey("leads")) == {key}
        dagster_run = instance.get_run_by_id(run.run_id)
        assert dagster_run is not None and dagster_run.job_name == "__ASSET_JOB"
        found = {e.check_name: e for e in run.get_asset_check_evaluations()}
        assert {"stuck_leads", "stats_drift", "duplicate_de_enrollments"} <= set(found)
        for evaluation in found.values():  # each answers for that client, named, and judges every client
            assert evaluation.metadata["asked_client"].value == f"client {name} ({a.client_id})"
            assert evaluation.metadata["scope"].value == "all active clients"
        # so no second run of the integrity checks follows it
        assert isinstance(checks.integrity_checks_after(dagster_run, instance), dg.SkipReason)

        # a run that materialized nothing of de-enrollment (here: the schema check) gets no checks after it
        other = defs.resolve_job_def("schema_contract_job").execute_in_process(instance=instance)
        other_run = instance.get_run_by_id(other.run_id)
        assert other_run is not None
        assert isinstance(checks.integrity_checks_after(other_run, instance), dg.SkipReason)
