import uuid

import pytest
from sqlalchemy import Connection

from campaign_ops.clients.partition_keys import (
    client_id_of,
    client_names,
    key_for_client,
    partition_changes,
    partition_key,
    resolve_client,
    slug,
    split_keys,
)
from campaign_ops.errors import UnknownClientError
from campaign_ops_tests.factories import add_client

CID = "0b6c5a4e-1f2d-4c3b-9a8e-7d6c5b4a3f21"
# what Dagster's partition selection and range syntax give a meaning to, or that break it
UNSAFE = [",", "|", "[", "]", "{", "}", '"', "'", "...", "  ", "\n", "\t", "/", "\\", ":", " --", "-- "]


def test_key_carries_the_name_and_parses_back_without_a_lookup() -> None:
    key = partition_key(CID, "Demo Client 003")
    assert key == f"Demo Client 003--{CID}"
    assert client_id_of(key) == CID
    # a bare uuid (a partition made before keys carried names) still parses, upper case too
    assert client_id_of(CID) == CID
    assert client_id_of(CID.upper()) == CID


@pytest.mark.parametrize(
    "name",
    ['Acme, Inc. | [EU] {"x": 1}', "Ünïcödé Ωmega...", "   ", "", "---", "a--b", "x" * 300, "C:\\path/x'y\""],
)
def test_key_is_safe_for_dagster_whatever_the_name(name: str) -> None:
    key = partition_key(CID, name)
    assert not any(bad in key for bad in UNSAFE), key
    assert key == key.strip()
    assert client_id_of(key) == CID
    assert len(key) <= 40 + 2 + 36


def test_every_printable_character_gives_a_safe_key_that_names_its_client() -> None:
    # each character on its own, and between words: whatever a company is called, the key is safe and parses
    for code in [*range(32, 0x250), 0x2026, 0x201C, 0xFF0C, 0x3000]:
        for name in (chr(code), f"Acme{chr(code)}Corp", f"{chr(code) * 3} x"):
            key = partition_key(CID, name)
            assert client_id_of(key) == CID, name
            assert not any(bad in key for bad in UNSAFE), (name, key)
            assert slug(name) == "" or key.startswith(slug(name) + "--")


@pytest.mark.parametrize("bad", ["", "demo-client", "demo--not-a-uuid", f"x--{CID}x", f"{CID[:-1]}", "..."])
def test_keys_that_name_no_client_are_refused_with_one_line(bad: str) -> None:
    with pytest.raises(UnknownClientError) as err:
        client_id_of(bad)
    assert "\n" not in str(err.value)
    ids, rejected = split_keys([partition_key(CID, "A"), bad])
    assert (ids, rejected) == ([CID], [bad])


def test_sync_compares_by_uuid_and_never_rekeys_a_renamed_client() -> None:
    other = str(uuid.uuid4())
    old_key = partition_key(CID, "Old Name")
    changes = partition_changes([old_key, "garbage"], {CID: "New Name", other: "Other Co"})
    assert changes.to_add == [partition_key(other, "Other Co")]
    assert changes.to_remove == ["garbage"]
    # a bare-uuid partition is kept as it is too
    assert partition_changes([CID], {CID: "Whatever"}).to_add == []
    # the existing key is the one used for the client, not the name of today
    assert key_for_client([old_key], CID, "New Name") == old_key
    assert key_for_client([], CID, "New Name") == partition_key(CID, "New Name")


def test_names_and_resolution_by_name(conn: Connection) -> None:
    a = add_client(conn, name="Demo Client 003")
    b = add_client(conn, name="Twin Co")
    c = add_client(conn, name="twin  co")
    gone = add_client(conn, name="Gone Ltd", active=False)
    conn.commit()
    assert client_names(conn, [a, gone, CID]) == {a: "Demo Client 003", gone: "Gone Ltd"}
    assert resolve_client(conn, "demo client 003") == a
    assert resolve_client(conn, f"  {a}  ") == a
    assert resolve_client(conn, partition_key(a, "Demo Client 003")) == a
    assert resolve_client(conn, "Gone Ltd") == gone  # the caller's active check refuses it, by name
    with pytest.raises(UnknownClientError, match=f"2 clients are named 'Twin Co'.*{b}.*{c}|2 clients.*{c}.*{b}"):
        resolve_client(conn, "Twin Co")
    with pytest.raises(UnknownClientError, match="no client named 'Nobody'"):
        resolve_client(conn, "Nobody")
    with pytest.raises(UnknownClientError, match="empty"):
        resolve_client(conn, "  ")
