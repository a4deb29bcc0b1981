"""The Dagster instance's PostgreSQL storage with one small connection pool per process.

Dagster's own `storage: postgres` opens a new PostgreSQL connection for every storage query (NullPool; only the
webserver pools), and every `DagsterInstance.from_ref` — the code server builds one per sensor evaluation that
reads the instance — creates three new engines and asks the server for its table list again. Idle, that was
a new connection for nearly every storage query between the daemon and the code server (client CPU and a backend
start on the server each; BENCHMARKS.md has the figures). This storage is Dagster's, with its three storages
sharing one pooled engine per process and database, and the table check (which creates missing tables) done once
per process. Dagster's schedule storage also asks for the database's table list (to learn whether the
`instigators` table exists) on nearly every read and write of a sensor's or schedule's state, several times per
tick: once it has seen the table, it is told so without asking again.

It is named in dagster.yaml (`storage: custom:`), so every process reading that file must be able to import this
package: the code server, its run workers, the daemon and the webserver of `make dev` all run from this project's
environment. (The Helm chart's daemon and webserver run Dagster's own images, so deploy/helm keeps `postgres`.)
"""

import threading
from typing import Any

from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config
from sqlalchemy import Engine

from campaign_ops.dagster_internals import (
    ConfigurableClassData,
    UserConfigSchema,
    assume_instigators_table,
    pg_config,
    remember_built_indexes,
    replace_storage_engines,
    schedule_storage,
)

# connections a process keeps open: the daemon's busiest moment is its 4 sensor threads, 2 schedule threads and
# the run queue, monitoring and backfill loops at once; beyond these, connections open and close as before
POOL_SIZE = 4
MAX_OVERFLOW = 8
# a pooled connection is replaced after an hour, and tested before each use, so a PostgreSQL restart or an idle
# timeout on the way costs one reconnect instead of a failed tick
POOL_RECYCLE_SECONDS = 3600

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_tables_checked: set[str] = set()
# per database: whether the `instigators` table exists, and the index migrations known to be complete
_instigators_seen: set[str] = set()
_indexes_built: dict[str, set[str]] = {}


def _shared_engine(url: str, token_provider: Any) -> Engine:
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_pg_engine(
                url,
                token_provider,
                isolation_level="AUTOCOMMIT",
                pool_size=POOL_SIZE,
                max_overflow=MAX_OVERFLOW,
                pool_recycle=POOL_RECYCLE_SECONDS,
                pool_pre_ping=True,
            )
            _engines[url] = engine
        return engine


def _remember_what_exists(schedules: Any, url: str) -> None:
    """Dagster's schedule storage asks before nearly every read and write of a sensor's or schedule's state whether
    the `instigators` table exists and whether an index migration is complete (listing the database's tables for
    each): once the answer is yes it stays yes (Dagster's migrations add, never drop), so it is remembered per
    process, as Dagster's own run storage does for its index migrations."""
    with _lock:
        built = _indexes_built.setdefault(url, set())
    if url in _instigators_seen or schedules.has_instigators_table():
        with _lock:
            _instigators_seen.add(url)
        assume_instigators_table(schedules)

    def learn(migration_name: str) -> None:
        with _lock:
            built.add(migration_name)

    remember_built_indexes(schedules, built.__contains__, learn)


class PooledPostgresStorage(DagsterPostgresStorage):
    """`DagsterPostgresStorage` (run, event log and schedule storage on one database, the same config keys) whose
    storages share a pooled engine per process and check their tables once per process."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: Any = None,
    ) -> None:
        with _lock:
            # the first instance of the process checks (and creates) the tables; the next ones know they exist
            check_tables = should_autocreate_tables and postgres_url not in _tables_checked
            super().__init__(postgres_url, check_tables, inst_data, token_provider)
            if should_autocreate_tables:
                _tables_checked.add(postgres_url)
        replace_storage_engines(self, _shared_engine(postgres_url, token_provider))
        _remember_what_exists(schedule_storage(self), postgres_url)

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return pg_config()

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> "PooledPostgresStorage":
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )


def close_pooled_connections() -> None:
    """Close the connections this process's pools keep open (the pools stay usable and reconnect on demand): for
    a process that is not a service, e.g. a test that touched the instance, before it checks that no session of
    the service is left on the database. A service process's pool ends with the process."""
    with _lock:
        engines = list(_engines.values())
    for engine in engines:
        engine.dispose()
