"""Every use of Dagster's private internals (`dagster._…`) in campaign-ops, and nowhere else: what Dagster 1.13 offers
no public way to do. Each use has a test in campaign_ops_tests/test_dagster_internals.py named after the internal it
guards, so a Dagster upgrade that changes one fails that test by name instead of a run, a pause or the service.

- run tag names Dagster's executor, UI and backfills read (only `MAX_RUNTIME_SECONDS_TAG` is public);
- the type `define_asset_job` returns (not exported);
- the toggle of a schedule or sensor as the UI's does it, through the code location loaded in this process (the
  public way is GraphQL, which needs a webserver: a pause must work without one);
- the deletion of a run's asset-check rows and of check evaluations recorded without a run (run retention: no
  public API deletes either);
- the instance storage's engines and its schedule storage's table checks (service/instance_storage.py says why);
- the code location's asset graph seen from a job (`JobDefinition.asset_layer`): a run evaluates every check of
  what it materialized.
"""

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster._config.config_schema import UserConfigSchema
from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._core.storage.config import pg_config
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    REPOSITORY_LABEL_TAG,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import Engine

__all__ = [
    "ASSET_PARTITION_RANGE_END_TAG",
    "ASSET_PARTITION_RANGE_START_TAG",
    "PARTITION_NAME_TAG",
    "AssetJob",
    "ConfigurableClassData",
    "UserConfigSchema",
    "pg_config",
]

# what `dg.define_asset_job` returns
AssetJob = UnresolvedAssetJobDefinition


def repository_label(code_location: str) -> dict[str, str]:
    """The tag that lists a run executed in this process (no remote origin) under its job in the UI, as the
    webserver labels the runs it launches."""
    return {REPOSITORY_LABEL_TAG: f"{SINGLETON_REPOSITORY_NAME}@{code_location}"}


# --- schedules and sensors ----------------------------------------------------------------------------------------


@contextmanager
def _repository(instance: dg.DagsterInstance, module: str, code_location: str) -> Iterator[Any]:
    """The code location loaded in this process, as the daemon and UI see it (same location and repository name,
    so the same selector ids: the instigator state they read is the one written here)."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.remote_representation.code_location import InProcessCodeLocation
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    origin = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name=module), location_name=code_location)
    with InProcessCodeLocation(origin, instance=instance) as location:
        yield location.get_repository(SINGLETON_REPOSITORY_NAME)


def switch_instigators(
    instance: dg.DagsterInstance, module: str, code_location: str, names: Collection[str], *, running: bool
) -> list[tuple[str, str, bool]]:
    """Start (running=True) or stop the schedules and sensors named, as the UI's toggle does (the state the daemon
    reads); (kind "schedule"/"sensor", name, whether it was running) for each one the code location has."""
    from dagster._core.remote_representation.external import RemoteSchedule

    out: list[tuple[str, str, bool]] = []
    with _repository(instance, module, code_location) as repository:
        for inst in [*repository.get_schedules(), *repository.get_sensors()]:
            if inst.name not in names:
                continue
            is_schedule = isinstance(inst, RemoteSchedule)
            origin_id, selector_id = inst.get_remote_origin_id(), inst.selector_id
            was = inst.get_current_instigator_state(instance.get_instigator_state(origin_id, selector_id)).is_running
            if running and not was:
                (instance.start_schedule if is_schedule else instance.start_sensor)(inst)
            elif not running and was:
                (instance.stop_schedule if is_schedule else instance.stop_sensor)(origin_id, selector_id, inst)
            out.append(("schedule" if is_schedule else "sensor", inst.name, was))
    return out


# --- run retention ------------------------------------------------------------------------------------------------


def _sql_event_log(instance: dg.DagsterInstance) -> Any:
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    storage = instance.event_log_storage
    return storage if isinstance(storage, SqlEventLogStorage) else None


def delete_check_rows(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> None:
    """Delete the asset_check_executions rows of these runs (`delete_run` leaves them behind)."""
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable

    storage = _sql_event_log(instance)
    if storage is not None and storage.has_table(AssetCheckExecutionsTable.name):
        with storage.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.delete().where(AssetCheckExecutionsTable.c.run_id.in_(run_ids)))


def prune_runless_check_evaluations(instance: dg.DagsterInstance, cutoff: dt.datetime, *, dry_run: bool) -> int:
    """Delete (or count) the check evaluation events recorded without a run (run id '') before `cutoff`, and their
    asset_check_executions rows: no run owns them, so `delete_run` never would."""
    import sqlalchemy as sa
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable

    storage = _sql_event_log(instance)
    if storage is None:
        return 0
    naive_utc = cutoff.astimezone(dt.UTC).replace(tzinfo=None)  # how Dagster's storages write timestamps
    events = SqlEventLogStorageTable.c
    old_events = sa.and_(
        events.run_id == "",
        events.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION.value,
        events.timestamp < naive_utc,
    )
    checks = AssetCheckExecutionsTable.c
    with storage.index_connection() as conn:
        if dry_run:
            return int(conn.execute(sa.select(sa.func.count()).where(old_events)).scalar_one())
        conn.execute(
            AssetCheckExecutionsTable.delete().where(checks.run_id == "", checks.evaluation_event_timestamp < naive_utc)
        )
        return int(conn.execute(SqlEventLogStorageTable.delete().where(old_events)).rowcount)


# --- the instance's storage ---------------------------------------------------------------------------------------


def storage_engines(storage: Any) -> list[Engine]:
    """The engines of a DagsterPostgresStorage's run, event log and schedule storages."""
    return [s._engine for s in (storage._run_storage, storage._event_log_storage, storage._schedule_storage)]


def replace_storage_engines(storage: Any, engine: Engine) -> None:
    """Make a DagsterPostgresStorage's three storages use `engine` (their own NullPool engines hold nothing)."""
    for s in (storage._run_storage, storage._event_log_storage, storage._schedule_storage):
        s._engine.dispose()
        s._engine = engine


def schedule_storage(storage: Any) -> Any:
    """A DagsterPostgresStorage's schedule storage."""
    return storage._schedule_storage


def assume_instigators_table(schedules: Any) -> None:
    """Tell this schedule storage object that its `instigators` table exists, so it stops listing the database's
    tables to find out (instance attributes over the methods of this one object)."""
    setattr(schedules, "has_instigators_table", lambda: True)  # noqa: B010
    setattr(schedules, "_has_instigators_table", lambda _conn: True)  # noqa: B010


def remember_built_indexes(schedules: Any, known: Callable[[str], bool], learn: Callable[[str], None]) -> None:
    """Answer this schedule storage's "is this index migration built?" from `known` first, asking the database only
    for a migration not known yet and telling `learn` when it is built."""
    ask = schedules.has_built_index

    def has_built_index(migration_name: str) -> bool:
        if known(migration_name):
            return True
        if ask(migration_name):
            learn(migration_name)
            return True
        return False

    setattr(schedules, "has_built_index", has_built_index)  # noqa: B010


def code_location_asset_graph(job_def: dg.JobDefinition) -> Any:
    """The code location's whole asset graph as seen from one of its jobs (`JobDefinition.asset_layer` is not
    public, and a run's `repository_def` is not set in `execute_in_process`): the job's own graph holds only the
    checks it selects, its source graph every check of the location."""
    graph = job_def.asset_layer.asset_graph
    return getattr(graph, "source_asset_graph", graph)
