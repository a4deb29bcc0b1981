"""The client's session-level advisory lock (`client_lock_key(client_id)`, a SQL function of the schema), which
de-enrollment and reconciliation share so that no two of them change one client's leads and counters at once."""

from datetime import UTC

from sqlalchemy import Connection

from campaign_ops.sqlfiles import load_sql


def release_client_lock(conn: Connection, client_id: str) -> None:
    """Release the client's session lock held by this connection's session (a no-op, with a server warning,
    when the session does not hold it)."""
    conn.execute(load_sql(__file__, "unlock_client.sql"), {"client_id": client_id})


def lock_holder(conn: Connection, client_id: str) -> str:
    """Who holds the client's lock, for the `skipped` record: session pid, since when, what it is."""
    row = conn.execute(load_sql(__file__, "lock_holder.sql"), {"client_id": client_id}).one_or_none()
    conn.commit()
    if row is None:
        return "its lock is held"
    app = f", {row.application_name}" if row.application_name else ""
    since = row.since.astimezone(UTC)
    return f"its lock is held by session {row.pid} ({row.state}{app}) since {since:%Y-%m-%d %H:%M:%S} UTC"
