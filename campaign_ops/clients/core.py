"""Clients: which exist and are active, and validation of client ids given by users."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from campaign_ops.errors import UnknownClientError


def active_client_ids(conn: Connection) -> list[str]:
    """Active clients' ids (the clients partition keys), in a stable order."""
    return [str(i) for i in conn.execute(text("SELECT id FROM clients WHERE is_active ORDER BY id")).scalars()]


def client_names(conn: Connection, client_ids: Sequence[str]) -> dict[str, str]:
    """Company names of the given client ids (unknown ids are left out)."""
    if not client_ids:
        return {}
    rows = conn.execute(
        text("SELECT id::text, company_name FROM clients WHERE id = ANY(CAST(:ids AS uuid[]))"),
        {"ids": list(client_ids)},
    ).all()
    return {client_id: name for client_id, name in rows}


def parse_client_id(value: str) -> str:
    """The canonical text of a client uuid; UnknownClientError for anything that is not a uuid."""
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise UnknownClientError(f"client id {value!r} is not a uuid") from None


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
            ids.append(parse_client_id(key))
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


@dataclass(frozen=True)
class PartitionChanges:
    to_add: list[str]
    to_remove: list[str]


def partition_changes(existing_keys: Iterable[str], active_ids: Iterable[str]) -> PartitionChanges:
    """What makes the clients partitions equal to the active clients."""
    existing, active = set(existing_keys), set(active_ids)
    return PartitionChanges(to_add=sorted(active - existing), to_remove=sorted(existing - active))
