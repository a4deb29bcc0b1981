"""Working through clients one by one: each on its own connection, a failure reported by name, the rest go on."""

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection, Engine

from campaign_ops.db.engine import connect
from campaign_ops.errors import ProcessingPaused, error_line, is_paused_error

T = TypeVar("T")


@dataclass(frozen=True)
class ClientFailure:
    client_id: str
    client_name: str
    error: str
    duration_ms: int


def error_text(exc: BaseException) -> str:
    """One line that says what went wrong for one client, its class named, without connection strings or
    passwords (it is stored)."""
    return error_line(exc, with_type=True)


def each_client(
    engine: Engine, clients: Mapping[str, str], work: Callable[[Connection, str, str], T]
) -> Iterator[T | ClientFailure]:
    """`work(conn, client_id, client_name)` for each client (id → name), yielding each outcome as it ends.

    A pause stops the sweep at that client (ProcessingPaused, one line): the database refused its writes, and the
    clients after it would only be refused too."""
    for client_id, name in clients.items():
        started = time.monotonic()
        try:
            with connect(engine) as conn:
                yield work(conn, client_id, name)
        except Exception as exc:  # reported by name; the caller fails the run once every client is done
            if is_paused_error(exc):
                raise ProcessingPaused(f"stopped at client {name or client_id}: {error_line(exc)}") from None
            yield ClientFailure(client_id, name, error_text(exc), int((time.monotonic() - started) * 1000))
