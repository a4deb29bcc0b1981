"""The ONE mapping between client ids and clients partition keys.

A key is `<readable name>--<client uuid>` (e.g. `Demo Client 003--0b6c5a4e-…`), or the bare uuid.
Why this shape:
- the readable part makes a client findable by name wherever Dagster lists partitions: "Filter by name" on the
  asset's Partitions page and the partition search of the backfill dialog match substrings, case-insensitively,
  so typing the name as people write it ("demo client 003", "Client 003") finds the client;
- the uuid keeps the key unique and lets any key be parsed back WITHOUT a lookup: the client id is the text
  after the last `--` (a uuid has no `--`);
- a key never changes: the sync compares partitions by uuid, so renaming a company keeps its existing key (and
  its history); only a partition created later uses the name of that moment;
- the readable part is the name's ASCII letters and digits, words joined by single blanks, at most 40
  characters: none of the characters that break Dagster's partition selection (`,` `|` `[` `]` `{` `}` quotes,
  `...` range syntax, control characters), no leading or trailing blank, no `--`;
- bare-uuid keys (partitions created before names were added) still parse, so nothing needs re-keying.
"""

import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from campaign_ops.errors import UnknownClientError
from campaign_ops.sqlfiles import load_sql

SEPARATOR = "--"
# the run tag that names the client of a one-client run (the Runs list filters on it: `campaign_ops/client=<name>`)
CLIENT_TAG = "campaign_ops/client"
CLIENT_ID_TAG = "campaign_ops/client_id"
# long enough to tell clients apart in a list, short enough that the uuid stays visible in narrow columns
MAX_SLUG_LENGTH = 40


def slug(name: str) -> str:
    """The ASCII letters and digits of `name`, words joined by single blanks (accents dropped, any other
    character a word break), case kept, cut to MAX_SLUG_LENGTH."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = " ".join(re.findall(r"[A-Za-z0-9]+", ascii_text))[:MAX_SLUG_LENGTH]
    return text.strip()


def partition_key(client_id: str, company_name: str | None) -> str:
    """The key a NEW clients partition gets; an existing partition keeps its key (see `partition_changes`)."""
    canonical = parse_uuid(client_id)
    readable = slug(company_name or "")
    return f"{readable}{SEPARATOR}{canonical}" if readable else canonical


def parse_uuid(value: str) -> str:
    """The canonical text of a uuid; UnknownClientError for anything else."""
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise UnknownClientError(f"client id {value!r} is not a uuid") from None


def client_id_of(key: str) -> str:
    """The client id a partition key names (`<slug>--<uuid>` or a bare uuid); UnknownClientError otherwise."""
    text = str(key).strip()
    if SEPARATOR not in text:
        return parse_uuid(text)
    tail = text.rsplit(SEPARATOR, 1)[-1]
    try:
        if len(tail) != 36:
            raise ValueError(tail)
        return str(uuid.UUID(tail))
    except ValueError:
        raise UnknownClientError(f"partition key {key!r} does not end in a client uuid (<name>--<uuid>)") from None


def client_id_or_none(key: str | None) -> str | None:
    """`client_id_of`, or None for a key that names no client (or no key)."""
    if not key:
        return None
    try:
        return client_id_of(key)
    except UnknownClientError:
        return None


def client_ids_of(keys: Iterable[str]) -> list[str]:
    """`client_id_of` of each key, in order."""
    return [client_id_of(k) for k in keys]


def split_keys(keys: Iterable[str]) -> tuple[list[str], list[str]]:
    """(client ids of the keys that parse, the keys that do not): sweeps skip and name the bad ones."""
    ids: list[str] = []
    bad: list[str] = []
    for key in keys:
        try:
            ids.append(client_id_of(key))
        except UnknownClientError:
            bad.append(key)
    return ids, bad


def keys_by_client_id(keys: Iterable[str]) -> dict[str, str]:
    """Existing partition keys by the client id they name (keys that name no client are left out)."""
    out: dict[str, str] = {}
    for key in keys:
        try:
            out[client_id_of(key)] = key
        except UnknownClientError:
            continue
    return out


def key_for_client(existing_keys: Iterable[str], client_id: str, company_name: str | None) -> str:
    """The client's existing partition key, or the key its new partition would get."""
    canonical = parse_uuid(client_id)
    return keys_by_client_id(existing_keys).get(canonical) or partition_key(canonical, company_name)


@dataclass(frozen=True)
class PartitionChanges:
    to_add: list[str]
    to_remove: list[str]


def partition_changes(existing_keys: Iterable[str], active: Mapping[str, str]) -> PartitionChanges:
    """What makes the clients partitions equal to the active clients (`active`: client id → company name).

    Compared by client id: a client that has a partition keeps it whatever its name is now (a key never
    changes); a partition whose key names no active client (deactivated, deleted, or malformed) is removed.
    """
    existing = list(existing_keys)
    have = set(keys_by_client_id(existing))
    active_ids = {parse_uuid(c): n for c, n in active.items()}
    to_add = [partition_key(c, active_ids[c]) for c in sorted(set(active_ids) - have)]
    to_remove = []
    for key in existing:
        try:
            if client_id_of(key) in active_ids:
                continue
        except UnknownClientError:
            pass
        to_remove.append(key)
    return PartitionChanges(to_add=to_add, to_remove=sorted(to_remove))


# --- names --------------------------------------------------------------------------------------------------------


def client_names(conn: Connection, client_ids: Sequence[str]) -> dict[str, str]:
    """Company names by client id (active or not); ids of no client are absent. The one names query."""
    if not client_ids:
        return {}
    rows = conn.execute(load_sql(__file__, "client_names.sql"), {"client_ids": list(client_ids)})
    return {r.client_id: r.company_name for r in rows}


def active_clients(conn: Connection) -> dict[str, str]:
    """Active clients, id → company name, in a stable order (what the clients partitions are made from)."""
    return {r.client_id: r.company_name for r in conn.execute(load_sql(__file__, "active_clients.sql"))}


def label(client_id: str, name: str | None) -> str:
    """How a client is shown to people: its name, with the uuid for the unambiguous record."""
    return f"{name} ({client_id})" if name else client_id


def client_run_tags(client_id: str, name: str | None) -> dict[str, str]:
    """Tags of a run for one client: its name (what people search the Runs list for) and its id."""
    return {CLIENT_TAG: name or client_id, CLIENT_ID_TAG: client_id}


@dataclass(frozen=True)
class NamedClient:
    client_id: str
    company_name: str
    is_active: bool


def resolve_client(conn: Connection, value: str) -> str:
    """A client id from what a person typed: a uuid, a partition key, or a company name (case and blanks
    ignored). UnknownClientError with one line when no client matches or the name is ambiguous (candidates
    listed with their ids, so the person can pick one by id)."""
    text = str(value).strip()
    if not text:
        raise UnknownClientError("client is empty: give a company name or a client uuid")
    try:
        return client_id_of(text)
    except UnknownClientError:
        pass
    rows = [
        NamedClient(r.client_id, r.company_name, r.is_active)
        for r in conn.execute(load_sql(__file__, "clients_named.sql"), {"name": text})
    ]
    if not rows:
        raise UnknownClientError(f"no client named {text!r} (give the company name or the client uuid)")
    active = [r for r in rows if r.is_active]
    if len(active) == 1:
        return active[0].client_id
    if len(rows) == 1:
        return rows[0].client_id  # only an inactive one: the caller's active-client check says so
    candidates = "; ".join(
        f"{r.company_name} ({r.client_id}{'' if r.is_active else ', inactive'})" for r in (active or rows)
    )
    raise UnknownClientError(f"{len(active or rows)} clients are named {text!r}, give one by uuid: {candidates}")
