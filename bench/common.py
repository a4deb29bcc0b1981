"""What every benchmark needs: a server to work on and throw-away database copies on it."""

import os

from campaign_ops.db.engine import make_engine
from campaign_ops.db.urls import normalise_url, with_database


def admin_url() -> str:
    """The 'postgres' database of BENCH_DATABASE_URL's (or DATABASE_URL's) server, else of the embedded one."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return with_database(normalise_url(url), "postgres")
    from campaign_ops.db.embedded import start_embedded_server

    return start_embedded_server("postgres")


def admin_exec(admin: str, sql: str) -> None:
    engine = make_engine(admin, pooled=False).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def fresh_copy(admin: str, name: str, template: str | None) -> str:
    """A new database `name` (a copy of `template` when given); returns its URL."""
    admin_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_exec(admin, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return with_database(admin, name)
