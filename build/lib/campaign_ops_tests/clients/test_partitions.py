import dagster as dg
from sqlalchemy import Connection, text

from campaign_ops.clients.partition_keys import client_ids_of, partition_key
from campaign_ops.clients.partitions import clients_partition_sync_sensor, clients_partitions
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.factories import add_client


def tick(instance: dg.DagsterInstance, db_url: str) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, resources={"database": DatabaseResource(url=db_url)})
    result = clients_partition_sync_sensor(context)
    assert isinstance(result, dg.SensorResult)
    # apply what the sensor asked, as the daemon does
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def test_sensor_keeps_partitions_equal_to_active_clients(conn: Connection, db_url: str) -> None:
    a, b = add_client(conn, name="Alpha Co"), add_client(conn, name="Beta Co")
    inactive = add_client(conn, active=False, name="Gamma Co")
    conn.commit()
    with dg.instance_for_test() as instance:
        first = tick(instance, db_url)
        keys = [sorted(r.partition_keys) for r in first.dynamic_partitions_requests]
        assert keys == [sorted([partition_key(a, "Alpha Co"), partition_key(b, "Beta Co")])]
        assert keys[0][0] == f"Alpha Co--{a}"
        assert set(client_ids_of(instance.get_dynamic_partitions("clients"))) == {a, b}

        # nothing changed: nothing requested
        assert tick(instance, db_url).dynamic_partitions_requests == []

        # a deactivated, c added, the inactive one reactivated
        c = add_client(conn)
        conn.execute(text("UPDATE clients SET is_active = false WHERE id = :a"), {"a": a})
        # a renamed client keeps its key: the key is never changed once the partition exists
        conn.execute(text("UPDATE clients SET company_name = 'Beta Renamed' WHERE id = :b"), {"b": b})
        conn.execute(text("UPDATE clients SET is_active = true WHERE id = :i"), {"i": inactive})
        conn.commit()
        third = tick(instance, db_url)
        adds = [r for r in third.dynamic_partitions_requests if isinstance(r, dg.AddDynamicPartitionsRequest)]
        deletes = [r for r in third.dynamic_partitions_requests if isinstance(r, dg.DeleteDynamicPartitionsRequest)]
        assert sorted(client_ids_of(adds[0].partition_keys)) == sorted([c, inactive])
        assert list(deletes[0].partition_keys) == [partition_key(a, "Alpha Co")]
        assert set(client_ids_of(instance.get_dynamic_partitions(clients_partitions.name))) == {b, c, inactive}
        assert partition_key(b, "Beta Co") in instance.get_dynamic_partitions(clients_partitions.name)


def test_sensor_keeps_bare_uuid_partitions(conn: Connection, db_url: str) -> None:
    a = add_client(conn, name="Alpha Co")
    conn.commit()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", [a, "not-a-client"])
        result = tick(instance, db_url)
        assert [list(r.partition_keys) for r in result.dynamic_partitions_requests] == [["not-a-client"]]
        assert instance.get_dynamic_partitions("clients") == [a]
