"""Each use of Dagster's private internals (campaign_ops/dagster_internals.py), one test per internal, named after it:
when a Dagster upgrade renames, moves or changes one, the test that names it fails, not a run or the service."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_postgres import PostgresScheduleStorage

from campaign_ops import dagster_internals as internals
from campaign_ops.db.urls import normalise_url
from campaign_ops.service import instance_storage
from campaign_ops.service.dagster_api import REPOSITORY
from campaign_ops.service.instance_storage import POOL_SIZE, PooledPostgresStorage
from campaign_ops.ui_url import CODE_LOCATION, DEFINITIONS_MODULE


@pytest.fixture
def instance(empty_db_url: str, tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance on PostgreSQL (Dagster's own storage), in this test's empty database."""
    storage = {"postgres": {"postgres_url": normalise_url(empty_db_url)}}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump({"storage": storage, "telemetry": {"enabled": False}}))
    with dg.DagsterInstance.from_config(str(tmp_path)) as inst:
        yield inst


clients = dg.DynamicPartitionsDefinition(name="internals_test_clients")


@dg.asset(partitions_def=clients, backfill_policy=dg.BackfillPolicy.single_run())
def per_client(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"keys": ",".join(context.partition_keys)})


@dg.asset
def plain() -> None:
    return None


@dg.asset_check(asset=plain)
def plain_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_dagster_core_storage_tags_partition_and_range_tags_are_the_ones_runs_are_read_by(
    instance: dg.DagsterInstance,
) -> None:
    instance.add_dynamic_partitions(clients.name, ["a", "b", "c"])  # type: ignore[arg-type]
    job = dg.Definitions(assets=[per_client]).resolve_implicit_global_asset_job_def()
    one = job.execute_in_process(instance=instance, partition_key="b")
    assert one.dagster_run.tags[internals.PARTITION_NAME_TAG] == "b"
    tags = {internals.ASSET_PARTITION_RANGE_START_TAG: "a", internals.ASSET_PARTITION_RANGE_END_TAG: "c"}
    ranged = job.execute_in_process(instance=instance, tags=tags)
    (materialization, *_) = ranged.asset_materializations_for_node("per_client")
    assert materialization.metadata["keys"].value == "a,b,c"


def test_dagster_core_storage_tags_repository_label_names_the_repository_the_webserver_serves() -> None:
    # the GraphQL selectors (service/dagster_api.py) name the same repository the label does
    assert internals.repository_label(CODE_LOCATION) == {
        ".dagster/repository": f"{REPOSITORY['repositoryName']}@{CODE_LOCATION}"
    }


def test_unresolved_asset_job_definition_is_what_define_asset_job_returns() -> None:
    assert isinstance(dg.define_asset_job("internals_test_job", selection=[plain]), internals.AssetJob)


def test_in_process_code_location_stops_and_starts_a_schedule_and_a_sensor(instance: dg.DagsterInstance) -> None:
    names = {"integrity_checks_schedule", "run_tags_sensor"}

    def states() -> dict[str, str]:
        return {s.instigator_name: s.status.value for s in instance.all_instigator_state()}

    stopped = internals.switch_instigators(instance, DEFINITIONS_MODULE, CODE_LOCATION, names, running=False)
    assert sorted(stopped) == [("schedule", "integrity_checks_schedule", True), ("sensor", "run_tags_sensor", True)]
    assert {n: states()[n] for n in names} == dict.fromkeys(names, "STOPPED")
    started = internals.switch_instigators(instance, DEFINITIONS_MODULE, CODE_LOCATION, names, running=True)
    assert not any(was for _, _, was in started)
    assert {n: states()[n] for n in names} == dict.fromkeys(names, "RUNNING")


def _check_rows(instance: dg.DagsterInstance, run_id: str) -> int:
    key = dg.AssetCheckKey(plain.key, "plain_check")
    history = instance.event_log_storage.get_asset_check_execution_history(key, limit=100)
    return sum(1 for r in history if r.run_id == run_id)


def test_asset_check_executions_table_rows_of_a_run_are_deleted(instance: dg.DagsterInstance) -> None:
    job = dg.Definitions(assets=[plain], asset_checks=[plain_check]).resolve_implicit_global_asset_job_def()
    deleted, kept = job.execute_in_process(instance=instance), job.execute_in_process(instance=instance)
    assert _check_rows(instance, deleted.run_id) == 1
    internals.delete_check_rows(instance, [deleted.run_id])
    assert _check_rows(instance, deleted.run_id) == 0 and _check_rows(instance, kept.run_id) == 1


def test_sql_event_log_storage_table_runless_check_evaluations_are_pruned(instance: dg.DagsterInstance) -> None:
    evaluation = dg.AssetCheckEvaluation(asset_key=plain.key, check_name="plain_check", passed=True)
    instance.report_runless_asset_event(evaluation)
    before = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    after = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert internals.prune_runless_check_evaluations(instance, before, dry_run=True) == 0
    assert internals.prune_runless_check_evaluations(instance, after, dry_run=True) == 1
    assert internals.prune_runless_check_evaluations(instance, after, dry_run=False) == 1
    assert internals.prune_runless_check_evaluations(instance, after, dry_run=True) == 0
    assert _check_rows(instance, "") == 0


def test_postgres_storage_private_engines_are_replaced_by_one_pooled_engine(empty_db_url: str) -> None:
    url = normalise_url(empty_db_url)
    storage = PooledPostgresStorage(postgres_url=url)
    try:
        engines = internals.storage_engines(storage)
        assert len(set(engines)) == 1 and engines[0].pool.size() == POOL_SIZE  # type: ignore[attr-defined]
        assert isinstance(internals.schedule_storage(storage), PostgresScheduleStorage)
    finally:
        # this test's database is dropped next: its pool goes, as when a process ends
        instance_storage._engines.pop(url).dispose()
        instance_storage._tables_checked.discard(url)
        instance_storage._instigators_seen.discard(url)
        instance_storage._indexes_built.pop(url, None)


def test_postgres_schedule_storage_table_checks_are_the_methods_patched() -> None:
    # the methods the pooled storage answers for once it has seen the tables (instance_storage.py)
    for name in ("has_instigators_table", "_has_instigators_table", "has_built_index"):
        assert callable(getattr(PostgresScheduleStorage, name, None)), name
    assert "postgres_url" in internals.pg_config()


def test_job_asset_layer_source_asset_graph_holds_every_check_of_the_code_location() -> None:
    from campaign_ops.assets import LEADS
    from campaign_ops.de_enrollment.defs import de_enrollment_job
    from campaign_ops.definitions import defs

    job = defs.resolve_job_def(de_enrollment_job.name)
    everywhere = {k for k in defs.resolve_asset_graph().asset_check_keys if k.asset_key == LEADS}
    assert len(everywhere) > 1, "the location has no checks on leads: the test would prove nothing"
    assert everywhere <= set(internals.code_location_asset_graph(job).asset_check_keys)
