"""The transaction a check reads in, on real PostgreSQL."""

import pytest
from sqlalchemy import Connection, text

from campaign_ops.check_kit.snapshot import read_only_snapshot


def test_read_only_snapshot_refuses_writes(conn: Connection) -> None:
    with pytest.raises(Exception, match="read-only transaction"), read_only_snapshot(conn):
        conn.execute(text("UPDATE campaigns SET name = name"))
