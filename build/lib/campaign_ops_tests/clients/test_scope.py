import uuid

import pytest
from sqlalchemy import Connection

from campaign_ops.clients.partition_keys import partition_key
from campaign_ops.clients.scope import active_client_ids, partition_scope, require_clients, resolve_scope
from campaign_ops.errors import UnknownClientError
from campaign_ops_tests.factories import add_client


def test_ids_a_person_gives_are_validated_before_any_work(conn: Connection) -> None:
    a, b = add_client(conn, name="A"), add_client(conn, name="B")
    inactive = add_client(conn, active=False)
    missing = str(uuid.uuid4())
    assert require_clients(conn, [b, a.upper(), b]) == [b, a]  # canonical, in order, without repeats
    assert require_clients(conn, []) == []
    with pytest.raises(UnknownClientError, match="client id 'nope' is not a uuid"):
        require_clients(conn, [a, "nope"])
    with pytest.raises(UnknownClientError, match=f"unknown client id\\(s\\): {missing}$"):
        require_clients(conn, [a, missing, inactive])
    with pytest.raises(UnknownClientError, match=f"inactive client id\\(s\\): {inactive}$"):
        require_clients(conn, [a, inactive])
    # the checks only read: an inactive client may be inspected on request; None is every active client
    assert resolve_scope(conn, [inactive]) == [inactive]
    assert resolve_scope(conn, None) is None
    with pytest.raises(UnknownClientError, match="no client ids given"):
        resolve_scope(conn, [])
    assert set(active_client_ids(conn)) >= {a, b} and inactive not in active_client_ids(conn)


def test_one_partition_is_strict_a_range_skips_with_a_warning(conn: Connection) -> None:
    a, b = add_client(conn, name="A"), add_client(conn, name="B")
    gone = add_client(conn, active=False, name="Gone")
    key_a, key_b, key_gone = partition_key(a, "A"), partition_key(b, "B"), partition_key(gone, "Gone")
    assert partition_scope(conn, [key_a]) == ([a], [])
    with pytest.raises(UnknownClientError, match=f"inactive client id\\(s\\): {gone}"):
        partition_scope(conn, [key_gone])
    ids, warnings = partition_scope(conn, [key_a, "Bad--key", key_gone, key_b])
    assert ids == [a, b]
    assert warnings == [
        "partition 'Bad--key' skipped: partition key 'Bad--key' does not end in a client uuid (<name>--<uuid>)",
        f"client {gone} skipped: not an active client (its partition will be removed)",
    ]
