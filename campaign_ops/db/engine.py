"""Engines and connections. Every engine uses the psycopg2 driver and checks connections before use."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from campaign_ops.db.urls import mask_url, normalise_url, with_database
from campaign_ops.errors import DatabaseUnavailableError

APP_DATABASE = "campaign_ops"
DAGSTER_DATABASE = "dagster"


def make_engine(url: str, *, pooled: bool = True) -> Engine:
    kwargs: dict = {"pool_pre_ping": True} if pooled else {"poolclass": NullPool}
    return create_engine(
        normalise_url(url),
        connect_args={"connect_timeout": 10, "application_name": "campaign-ops"},
        **kwargs,
    )


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection, turning 'server unreachable' into one clear error without the password."""
    try:
        conn = engine.connect()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        raise DatabaseUnavailableError(
            f"cannot connect to PostgreSQL at {mask_url(str(engine.url))}: {reason}"
        ) from None
    with conn:
        yield conn


def resolve_database_url(database: str = APP_DATABASE) -> str:
    """DATABASE_URL when set; otherwise the embedded server, with `database` created if missing."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return normalise_url(url)
    from campaign_ops.db.embedded import start_embedded_server

    admin_url = start_embedded_server("postgres")
    ensure_database(admin_url, database)
    return with_database(admin_url, database)


def ensure_database(admin_url: str, database: str) -> None:
    """Create `database` on the server of `admin_url` unless it exists."""
    engine = make_engine(admin_url, pooled=False).execution_options(isolation_level="AUTOCOMMIT")
    with connect(engine) as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}).scalar()
        if not exists:
            # identifiers cannot be bound parameters; quote through the dialect
            conn.exec_driver_sql(f"CREATE DATABASE {engine.dialect.identifier_preparer.quote(database)}")
    engine.dispose()
