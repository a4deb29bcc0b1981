"""Clients: which exist and are active, and validation of client ids given by users."""

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, text

from campaign_ops.clients import partition_keys
from campaign_ops.clients.partition_keys import parse_uuid
from campaign_ops.errors import UnknownClientError


def active_client_ids(conn: Connection) -> list[str]:
    """Active clients' ids, in a stable order (their partition keys: clients/partition_keys.py)."""
    return [str(i) for i in conn.execute(text("SELECT id FROM clients WHERE is_active ORDER BY id")).scalars()]


def client_names(conn: Connection, client_ids: Sequence[str]) -> dict[str, str]:
    """Company names of the given client ids (unknown ids are left out); the one query lives in partition_keys."""
    return partition_keys.client_names(conn, client_ids)


def parse_client_id(value: str) -> str:
    """The canonical text of a client uuid; UnknownClientError for anything that is not a uuid."""
    return parse_uuid(value)


def require_active_clients(conn: Connection, client_ids: Iterable[str]) -> list[str]:
    """Validate ids before any work: each must be a uuid of an existing, active client."""
    ids = [parse_client_id(c) for c in client_ids]
    if not ids:
        return []
    rows: dict[str, bool] = dict(
        conn.execute(
            text("SELECT id::text, is_active FROM clients WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}
        ).all()
    )
    unknown = [c for c in ids if c not in rows]
    if unknown:
        raise UnknownClientError(f"unknown client id(s): {', '.join(unknown)}")
    inactive = [c for c in ids if not rows[c]]
    if inactive:
        raise UnknownClientError(f"inactive client id(s): {', '.join(inactive)}")
    return ids


def split_sweep_clients(conn: Connection, keys: Iterable[str]) -> tuple[list[str], list[str]]:
    """A sweep over partition keys: (the active clients' ids, in order; one warning per key skipped). A sweep
    skips partitions of clients deactivated or removed since the last partition sync (and malformed keys)
    instead of failing; a one-client run validates strictly (`require_active_clients`)."""
    ids: list[str] = []
    warnings: list[str] = []
    for key in keys:
        try:
            ids.append(partition_keys.client_id_of(key))
        except UnknownClientError as exc:
            warnings.append(f"partition {key!r} skipped: {exc}")
    active = set(
        str(i)
        for i in conn.execute(
            text("SELECT id FROM clients WHERE is_active AND id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}
        ).scalars()
    )
    warnings.extend(
        f"client {c} skipped: not an active client (its partition will be removed)" for c in ids if c not in active
    )
    return [c for c in ids if c in active], warnings
