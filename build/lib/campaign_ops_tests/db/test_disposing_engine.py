"""The command line's one connection helper closes its sessions however the command ends."""

import time

import pytest
from sqlalchemy import Connection, make_url, text

from campaign_ops.db.engine import connect, disposing_connection, disposing_engine


def _alive(conn: Connection, pid: int) -> bool:
    """Whether the server still has the session `pid`. The server ends a session a moment after its client hung
    up, so a session still listed is looked at again for up to 5 s; each look is its own transaction (a
    transaction keeps seeing the pg_stat_activity of its first look)."""
    deadline = time.monotonic() + 5
    while True:
        alive = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar()
        conn.rollback()
        if not alive or time.monotonic() > deadline:
            return bool(alive)
        time.sleep(0.1)


def test_a_pooled_session_ends_when_the_block_fails(db_url: str, conn: Connection) -> None:
    # a pooled engine keeps its session open after the connection is returned: only dispose() ends it
    with pytest.raises(RuntimeError, match="the command failed"), disposing_engine(db_url, pooled=True) as engine:
        with connect(engine) as used:
            pid = used.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert _alive(conn, pid)
        raise RuntimeError("the command failed")
    assert not _alive(conn, pid)


def test_a_connection_ends_with_its_engine_when_the_block_fails(db_env: str, conn: Connection) -> None:
    with pytest.raises(RuntimeError, match="the command failed"), disposing_connection() as used:
        pid = used.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # the database's name, whatever follows it in the URL (embedded URLs end in ?host=<socket dir>)
        assert used.execute(text("SELECT current_database()")).scalar_one() == make_url(db_env).database
        raise RuntimeError("the command failed")
    assert not _alive(conn, pid)
