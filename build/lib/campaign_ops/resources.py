"""Dagster resources. Values come from the environment through EnvVar, read when a run starts, never at import."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import dagster as dg
from sqlalchemy import Connection, Engine

from campaign_ops.db.engine import connect, make_engine


@cache
def _engine_for(url: str) -> Engine:
    # one pool per process and URL: resources are re-instantiated per run/tick, engines need not be
    return make_engine(url)


class DatabaseResource(dg.ConfigurableResource):
    """The campaign-ops PostgreSQL database (DATABASE_URL)."""

    url: str

    @property
    def engine(self) -> Engine:
        return _engine_for(self.url)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection; raises DatabaseUnavailableError (one clear line, no password) when unreachable."""
        with connect(self.engine) as conn:
            yield conn
