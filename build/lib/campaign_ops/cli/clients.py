"""`--client NAME|UUID`: commands that take `--client-id` also take a client by its company name."""

import functools
from collections.abc import Callable, Sequence
from typing import Any

import click

from campaign_ops.clients.partition_keys import resolve_client
from campaign_ops.db.engine import disposing_connection
from campaign_ops.errors import ConfigError


def resolve_clients(values: Sequence[str]) -> tuple[str, ...]:
    """Client ids of what was typed (names, uuids or partition keys); one UnknownClientError line otherwise."""
    with disposing_connection() as conn:
        return tuple(dict.fromkeys(resolve_client(conn, v) for v in values))


def accepts_client_names(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--client` to a command whose `--client-id` fills `client_ids` (repeatable) or `client_id` (one):
    names are resolved to ids first, then the command runs exactly as if it had been given the ids."""

    @functools.wraps(command)
    def wrapper(*args: Any, client_names: tuple[str, ...] = (), **kwargs: Any) -> Any:
        if client_names:
            ids = resolve_clients(client_names)
            if "client_ids" in kwargs:
                kwargs["client_ids"] = tuple(dict.fromkeys((*kwargs["client_ids"], *ids)))
            else:
                if kwargs.get("client_id") or len(ids) > 1:
                    raise ConfigError("give one client: --client NAME or --client-id UUID")
                kwargs["client_id"] = ids[0]
        return command(*args, **kwargs)

    # functools.wraps shares the command's click parameter list; this option belongs to the wrapper only
    wrapper.__click_params__ = list(getattr(command, "__click_params__", []))  # type: ignore[attr-defined]
    return click.option(
        "--client",
        "client_names",
        multiple=True,
        metavar="NAME",
        help='A client by company name, e.g. --client "Demo Client 003" (or its uuid; repeatable). '
        "A name several clients share is refused with their uuids listed.",
    )(wrapper)
