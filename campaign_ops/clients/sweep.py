"""Working through clients one by one: each on its own connection, a failure reported by name, the rest go on."""

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from campaign_ops.db.engine import connect
from campaign_ops.errors import CampaignOpsError, mask_secrets

T = TypeVar("T")


@dataclass(frozen=True)
class ClientFailure:
    client_id: str
    client_name: str
    error: str
    duration_ms: int


def error_text(exc: BaseException) -> str:
    """One line that says what went wrong, without connection strings or passwords (it is stored)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        message = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
        return mask_secrets(f"{type(exc.orig).__name__}: {message}" if message else type(exc.orig).__name__)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return mask_secrets(first if isinstance(exc, CampaignOpsError) and first else f"{type(exc).__name__}: {first}")


def each_client(
    engine: Engine, clients: Mapping[str, str], work: Callable[[Connection, str, str], T]
) -> Iterator[T | ClientFailure]:
    """`work(conn, client_id, client_name)` for each client (id → name), yielding each outcome as it ends."""
    for client_id, name in clients.items():
        started = time.monotonic()
        try:
            with connect(engine) as conn:
                yield work(conn, client_id, name)
        except Exception as exc:  # reported by name; the caller fails the run once every client is done
            yield ClientFailure(client_id, name, error_text(exc), int((time.monotonic() - started) * 1000))
