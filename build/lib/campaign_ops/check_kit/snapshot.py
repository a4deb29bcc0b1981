"""The transaction a check reads in."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from campaign_ops.errors import ConfigError
from campaign_ops.sqlfiles import load_sql

DEFAULT_STATEMENT_TIMEOUT_MS = 60_000


@contextmanager
def read_only_snapshot(conn: Connection, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS) -> Iterator[None]:
    """A read-only, repeatable-read transaction with a statement timeout, rolled back at the end.

    One snapshot keeps a check's figures consistent with each other (a count and its sample); the timeout makes
    a check on a locked or overloaded database end with an error instead of hanging its run.
    """
    if statement_timeout_ms <= 0:
        raise ConfigError(f"statement_timeout_ms must be positive, got {statement_timeout_ms}")
    transaction = conn.begin()
    try:
        conn.execute(load_sql(__file__, "read_only_snapshot.sql"), {"statement_timeout": str(statement_timeout_ms)})
        yield
    finally:
        transaction.rollback()
