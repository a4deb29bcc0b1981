"""The instance storage of dagster.yaml: Dagster's PostgreSQL storage with one connection pool per process.

Side by side with Dagster's own `storage: postgres` on the same database, counted at the driver (every new
DBAPI connection and every statement of every engine): the queries a daemon loop and a code server's per-tick
`DagsterInstance.from_ref` make."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from sqlalchemy import Engine, event, inspect

from campaign_ops.db.urls import normalise_url
from campaign_ops.service import instance_storage
from campaign_ops.service.environment import INSTANCE_YAML
from campaign_ops.service.instance_storage import POOL_SIZE, PooledPostgresStorage

QUERIES = 30


class DriverCounter:
    """New DBAPI connections and statements of every SQLAlchemy engine in this process while active."""

    def __init__(self) -> None:
        self.connections = 0
        self.statements = 0

    def _connected(self, *_: Any) -> None:
        self.connections += 1

    def _executed(self, *_: Any) -> None:
        self.statements += 1

    def __enter__(self) -> "DriverCounter":
        event.listen(Engine, "connect", self._connected)
        event.listen(Engine, "before_cursor_execute", self._executed)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(Engine, "connect", self._connected)
        event.remove(Engine, "before_cursor_execute", self._executed)


def instance_from(storage: dict[str, Any], home: Path) -> dg.DagsterInstance:
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": storage, "telemetry": {"enabled": False}}))
    return dg.DagsterInstance.from_config(str(home))


def production_storage() -> dict[str, Any]:
    return yaml.safe_load(INSTANCE_YAML.read_text())["storage"]


def is_pooled(instance: dg.DagsterInstance) -> bool:
    data = instance.get_ref().storage_data
    return data is not None and data.class_name == PooledPostgresStorage.__name__


def engines_of(instance: dg.DagsterInstance) -> set[Engine]:
    """The engines of the instance's run, event log and schedule storages."""
    storages = (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
    return {storage._engine for storage in storages}  # type: ignore[union-attr]


DAGSTER_OWN = {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}


@pytest.fixture
def instance_db(empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = normalise_url(empty_db_url)
    monkeypatch.setenv("DAGSTER_PG_URL", url)
    yield url
    # the pool of this test's database (dropped next) is closed, as a process ending would
    engine = instance_storage._engines.pop(url, None)
    if engine is not None:
        engine.dispose()
    instance_storage._tables_checked.discard(url)
    instance_storage._instigators_seen.discard(url)
    instance_storage._indexes_built.pop(url, None)


def daemon_like_queries(instances: list[dg.DagsterInstance]) -> None:
    """What the daemon's loops and the code server's sensor evaluations ask, spread over the instances."""
    for i in range(QUERIES):
        instance = instances[i % len(instances)]
        if i % 3 == 0:
            instance.get_runs_count()
        elif i % 3 == 1:
            instance.all_instigator_state()
        else:
            instance.get_run_records(limit=1)


def test_production_storage_is_the_pooled_one_and_creates_dagsters_tables(instance_db: str, tmp_path: Path) -> None:
    with instance_from(production_storage(), tmp_path / "home") as instance:
        assert is_pooled(instance)
        run = instance.create_run_for_job(dg.GraphDefinition("g").to_job(), run_id="0" * 32)
        assert instance.get_run_by_id(run.run_id) is not None
    with DriverCounter() as counter:
        tables = set(inspect(engines_of(instance).pop()).get_table_names())
    assert {"runs", "event_logs", "jobs", "job_ticks", "asset_check_executions"} <= tables, tables
    assert counter.statements > 0  # the counter sees the inspection's statements


def test_queries_reuse_pooled_connections_where_dagsters_own_storage_opens_one_each(
    instance_db: str, tmp_path: Path
) -> None:
    with instance_from(DAGSTER_OWN, tmp_path / "own") as first, DriverCounter() as own:
        instances = [first, dg.DagsterInstance.from_ref(first.get_ref())]
        daemon_like_queries(instances)
    with instance_from(production_storage(), tmp_path / "pooled") as first:
        with DriverCounter() as pooled:
            instances = [first, dg.DagsterInstance.from_ref(first.get_ref())]
            daemon_like_queries(instances)
        engines = {id(engine) for i in instances for engine in engines_of(i)}
    assert own.connections >= QUERIES, own.connections
    assert pooled.connections <= POOL_SIZE, pooled.connections
    assert len(engines) == 1  # every storage of every instance of the process on one pool


def test_an_instance_from_ref_skips_the_table_check_once_the_process_made_it(instance_db: str, tmp_path: Path) -> None:
    """The code server builds an instance per sensor evaluation: Dagster's storage lists the tables each time."""
    with instance_from(DAGSTER_OWN, tmp_path / "own") as first:
        ref = first.get_ref()
        with DriverCounter() as own:
            dg.DagsterInstance.from_ref(ref)
    with instance_from(production_storage(), tmp_path / "pooled") as first:
        ref = first.get_ref()
        with DriverCounter() as pooled:
            again = dg.DagsterInstance.from_ref(ref)
        assert is_pooled(again)
        assert again.get_runs_count() == 0
    assert own.statements > 0
    assert pooled.statements == 0


def test_a_sensors_state_is_read_with_one_query_not_with_the_table_list_first(instance_db: str, tmp_path: Path) -> None:
    """The daemon reads and writes every sensor's and schedule's state several times per tick: Dagster's schedule
    storage lists the database's tables and reads its index migrations before each; this one asked once."""
    reads = 10

    def statements(instance: dg.DagsterInstance) -> int:
        storage = instance.schedule_storage
        assert storage is not None
        assert storage.get_instigator_state("origin", "selector") is None  # the first read may ask
        with DriverCounter() as counter:
            for _ in range(reads):
                assert storage.get_instigator_state("origin", "selector") is None
        return counter.statements

    with instance_from(DAGSTER_OWN, tmp_path / "own") as own:
        by_dagster = statements(own)
    with instance_from(production_storage(), tmp_path / "pooled") as pooled:
        ours = statements(pooled)
    assert ours == reads, ours
    assert by_dagster >= 3 * reads, by_dagster  # the table list, the index migration, the state (and more)
