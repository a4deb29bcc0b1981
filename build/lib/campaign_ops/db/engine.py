"""Engines and connections. Every engine uses the psycopg2 driver and checks connections before use.

A worker whose host vanishes (power cut, network partition: no FIN ever reaches the server) must not keep its
session, and the client's session-level advisory lock with it, for the server's default TCP keepalive time
(two hours). Every session therefore asks the server (`options=-c ...`) to probe an idle client with TCP
keepalives and to check the client's socket during a long query (`client_connection_check_interval`), and to give
up on unacknowledged data (`tcp_user_timeout`): a vanished client's session ends within
CAMPAIGN_OPS_DEAD_CLIENT_TIMEOUT seconds (default 120). libpq's own keepalives do the same from the client's
side, so a worker also notices a vanished server.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from campaign_ops.db.urls import mask_url, normalise_url, with_database
from campaign_ops.errors import ConfigError, DatabaseUnavailableError, error_line

APP_DATABASE = "campaign_ops"
DAGSTER_DATABASE = "dagster"
DEAD_CLIENT_TIMEOUT_ENV = "CAMPAIGN_OPS_DEAD_CLIENT_TIMEOUT"
DEFAULT_DEAD_CLIENT_TIMEOUT_S = 120
KEEPALIVE_PROBES = 6


def dead_client_timeout_s() -> int:
    """Seconds after which a peer that stopped answering is given up (CAMPAIGN_OPS_DEAD_CLIENT_TIMEOUT)."""
    raw = os.environ.get(DEAD_CLIENT_TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_DEAD_CLIENT_TIMEOUT_S
    value = raw.strip()
    if not (value.isascii() and value.isdigit()) or not 4 <= int(value) <= 7200:
        raise ConfigError(f"{DEAD_CLIENT_TIMEOUT_ENV} must be a whole number of seconds from 4 to 7200, got {raw!r}")
    return int(value)


def keepalive_connect_args(timeout_s: int, *, server_side: bool = True) -> dict[str, object]:
    """libpq and per-session server settings that end a vanished peer's session within about `timeout_s`:
    idle for a quarter of it, then KEEPALIVE_PROBES unanswered probes over the rest."""
    idle = max(1, timeout_s // 4)
    interval = max(1, (timeout_s - idle) // KEEPALIVE_PROBES)
    args: dict[str, object] = {
        "keepalives": 1,
        "keepalives_idle": idle,
        "keepalives_interval": interval,
        "keepalives_count": KEEPALIVE_PROBES,
    }
    if server_side:
        args["options"] = (
            f"-c tcp_keepalives_idle={idle} -c tcp_keepalives_interval={interval}"
            f" -c tcp_keepalives_count={KEEPALIVE_PROBES} -c tcp_user_timeout={timeout_s * 1000}"
            f" -c client_connection_check_interval={idle * 1000}"
        )
    return args


def make_engine(url: str, *, pooled: bool = True, server_keepalives: bool = True) -> Engine:
    """An engine on `url`. `server_keepalives=False` leaves out the per-session server settings, which servers
    before PostgreSQL 14 do not know (client_connection_check_interval): the migrations use it, so that such a
    server reaches their version check and is refused in one line."""
    kwargs: dict = {"pool_pre_ping": True} if pooled else {"poolclass": NullPool}
    return create_engine(
        normalise_url(url),
        connect_args={
            "connect_timeout": 10,
            "application_name": "campaign-ops",
            **keepalive_connect_args(dead_client_timeout_s(), server_side=server_keepalives),
        },
        **kwargs,
    )


@contextmanager
def disposing_engine(url: str | None = None, *, pooled: bool = False) -> Iterator[Engine]:
    """An engine for one command or one check, disposed however the block ends (an error included), so none of
    its sessions, nor a session-level advisory lock one of them holds, outlives it. `url` defaults to the app
    database (`resolve_database_url`). Unpooled unless the work opens many connections (one per client)."""
    engine = make_engine(url if url is not None else resolve_database_url(), pooled=pooled)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection, turning 'server unreachable' into one clear error without the password."""
    try:
        conn = engine.connect()
    except OperationalError as exc:
        raise DatabaseUnavailableError(
            f"cannot connect to PostgreSQL at {mask_url(str(engine.url))}: {error_line(exc)}"
        ) from None
    with conn:
        yield conn


@contextmanager
def disposing_connection(url: str | None = None) -> Iterator[Connection]:
    """One connection on its own engine (`disposing_engine`), both closed however the block ends."""
    with disposing_engine(url) as engine, connect(engine) as conn:
        yield conn


def resolve_database_url(database: str = APP_DATABASE) -> str:
    """DATABASE_URL when set; otherwise the embedded server, with `database` created if missing."""
    url = os.environ.get("DATABASE_URL")
    if url is not None:
        if not url.strip():
            # set but empty is a mistake (a failed substitution), not a wish for the embedded server
            raise ConfigError("DATABASE_URL is set but empty; unset it to use the embedded server")
        return normalise_url(url)
    from campaign_ops.db.embedded import start_embedded_server

    admin_url = start_embedded_server("postgres")
    ensure_database(admin_url, database)
    return with_database(admin_url, database)


def ensure_database(admin_url: str, database: str) -> None:
    """Create `database` on the server of `admin_url` unless it exists."""
    with disposing_engine(admin_url) as base:
        engine = base.execution_options(isolation_level="AUTOCOMMIT")
        with connect(engine) as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}).scalar()
            if not exists:
                # identifiers cannot be bound parameters; quote through the dialect
                conn.exec_driver_sql(f"CREATE DATABASE {engine.dialect.identifier_preparer.quote(database)}")
