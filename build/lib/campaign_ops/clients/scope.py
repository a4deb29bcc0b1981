"""Which clients a piece of work covers: the ONE validation of client ids, whoever gives them.

Three scopes, one rule underneath (`require_clients`: each id a client uuid, of an existing client, active unless
only read):
- ids a person gives (CLI options, run config): validated before any work, one UnknownClientError naming every bad
  id, nothing changed (`require_clients`; the checks may inspect an inactive client on request: `resolve_scope`);
- the partitions of a run (`partition_scope`): one partition is an operator's one-client run and is validated
  strictly like ids a person gives; a range is a sweep, which skips partitions of clients deactivated or removed
  since the last partition sync (and malformed keys) with one warning each, so that one stale partition does not
  stop the work for every other client;
- every active client (`active_client_ids`).
"""

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection

from campaign_ops.clients.partition_keys import active_clients, client_id_of
from campaign_ops.errors import UnknownClientError
from campaign_ops.sqlfiles import load_sql


def active_client_ids(conn: Connection) -> list[str]:
    """Active clients' ids, in a stable order (their partition keys: clients/partition_keys.py)."""
    return list(active_clients(conn))


def _states(conn: Connection, client_ids: Sequence[str]) -> dict[str, bool]:
    """is_active of each given client that exists."""
    rows = conn.execute(load_sql(__file__, "client_states.sql"), {"client_ids": list(client_ids)})
    return {r.client_id: r.is_active for r in rows}


def require_clients(conn: Connection, client_ids: Iterable[str], *, active: bool = True) -> list[str]:
    """Validate ids before any work, returned canonical, in the given order, without repeats: each must be a uuid
    (or a clients partition key) of an existing client, and with `active` an active one. UnknownClientError names
    every id that is not; an empty list is returned as it is."""
    ids = list(dict.fromkeys(client_id_of(c) for c in client_ids))
    if not ids:
        return []
    states = _states(conn, ids)
    unknown = [c for c in ids if c not in states]
    if unknown:
        raise UnknownClientError(f"unknown client id(s): {', '.join(unknown)}")
    inactive = [c for c in ids if not states[c]] if active else []
    if inactive:
        raise UnknownClientError(f"inactive client id(s): {', '.join(inactive)}")
    return ids


def resolve_scope(conn: Connection, client_ids: Sequence[str] | None) -> list[str] | None:
    """The scope of a read-only check: None (every active client) or the given ids, each an existing client's.
    Inactive clients may be inspected on request (checks only read)."""
    if client_ids is None:
        return None
    if not client_ids:
        raise UnknownClientError("no client ids given")
    return require_clients(conn, client_ids, active=False)


def partition_scope(conn: Connection, keys: Sequence[str]) -> tuple[list[str], list[str]]:
    """The clients a run over clients partitions `keys` works on, and one warning per partition it skips.

    One partition: validated strictly (UnknownClientError for a malformed key, an unknown or inactive client).
    A range: the active clients' ids in key order; each malformed key and each client no longer active is skipped
    with a warning (its partition goes at the next partition sync)."""
    if len(keys) == 1:
        return require_clients(conn, keys), []
    ids: list[str] = []
    warnings: list[str] = []
    for key in keys:
        try:
            ids.append(client_id_of(key))
        except UnknownClientError as exc:
            warnings.append(f"partition {key!r} skipped: {exc}")
    states = _states(conn, ids)
    warnings.extend(
        f"client {c} skipped: not an active client (its partition will be removed)" for c in ids if not states.get(c)
    )
    return [c for c in ids if states.get(c)], warnings
