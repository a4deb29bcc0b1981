"""Real Dagster runs of stats_reconciliation_job (execute_in_process) and its schedule (build_schedule_context)."""

import logging
from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import Connection, Engine, text

from campaign_ops.clients.tags import RANGE_END_TAG, RANGE_START_TAG
from campaign_ops.definitions import defs
from campaign_ops.reconciliation.defs import campaign_stats_reconciliation_asset, stats_reconciliation_schedule
from campaign_ops_tests.factories import add_client
from campaign_ops_tests.reconciliation.builders import (
    Leads,
    add_campaign_with_leads,
    campaigns_snapshot,
    counters,
    log_rows,
    refresh_all_counters,
    set_counter,
)

KEY = campaign_stats_reconciliation_asset.key
JOB = "stats_reconciliation_job"
OP = "reconcile_campaign_stats"


@pytest.fixture
def drifting_clients(conn: Connection) -> list[dict[str, str]]:
    """Three clients; client i has one campaign of 5 active leads whose active counter reads 5 + 2 * (i + 1)."""
    clients = []
    for i in range(3):
        client = add_client(conn, name=f"Client {i}")
        campaign = add_campaign_with_leads(conn, client, Leads(active=5))
        clients.append({"client": client, "campaign": campaign})
    refresh_all_counters(conn)
    for i, c in enumerate(clients):
        set_counter(conn, c["campaign"], "active_leads_count", 5 + 2 * (i + 1))
    conn.commit()
    return clients


def run_job(instance: dg.DagsterInstance, *, run_config: dict | None = None, **kwargs) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(JOB).execute_in_process(
        instance=instance, run_config=run_config or {}, raise_on_error=False, **kwargs
    )


def materialized(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {
        e.materialization.partition: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def test_one_partition_run_reconciles_that_client_only(
    conn: Connection, db_env: str, drifting_clients: list[dict]
) -> None:
    target, other = drifting_clients[1], drifting_clients[2]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", [c["client"] for c in drifting_clients])
        result = run_job(instance, partition_key=target["client"])
        assert result.success
        figures = materialized(result)
        assert list(figures) == [target["client"]]
        meta = figures[target["client"]]
        assert (meta["campaigns_checked"], meta["campaigns_drifted"], meta["campaigns_corrected"]) == (1, 1, 1)
        assert (meta["total_abs_difference"], meta["largest_difference"], meta["dry_run"]) == (4, 4, False)
        assert meta["client_name"] == "Client 1"
        assert "| active_leads_count | 9 | 5 | -4 |" in meta["drifts"]
        assert instance.get_materialized_partitions(KEY) == {target["client"]}
    assert counters(conn, target["campaign"])[0] == 5
    assert counters(conn, other["campaign"])[0] == 11  # another partition: untouched
    [row] = log_rows(conn)
    assert row[6] == result.run_id  # the log names the Dagster run


def test_range_run_covers_several_clients_in_one_run(
    conn: Connection, db_env: str, drifting_clients: list[dict]
) -> None:
    keys = [c["client"] for c in drifting_clients]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", keys)
        result = run_job(instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
        assert result.success
        figures = materialized(result)
        assert {k: v["total_abs_difference"] for k, v in figures.items()} == {keys[0]: 2, keys[1]: 4, keys[2]: 6}
        assert instance.get_materialized_partitions(KEY) == set(keys)
        assert len(instance.get_run_records()) == 1
    assert [counters(conn, c["campaign"])[0] for c in drifting_clients] == [5, 5, 5]
    assert {r[6] for r in log_rows(conn)} == {result.run_id}


def test_dry_run_observes_and_changes_nothing(conn: Connection, db_env: str, drifting_clients: list[dict]) -> None:
    keys = [c["client"] for c in drifting_clients]
    before = campaigns_snapshot(conn)
    conn.commit()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", keys)
        result = run_job(
            instance,
            tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
            run_config={"ops": {OP: {"config": {"dry_run": True}}}},
        )
        assert result.success
        assert result.get_asset_materialization_events() == []
        observed = {
            e.asset_observation_data.asset_observation.partition: e.asset_observation_data.asset_observation.metadata
            for e in result.get_asset_observation_events()
        }
        assert {k: (m["dry_run"].value, m["largest_difference"].value) for k, m in observed.items()} == {
            keys[0]: (True, 2),
            keys[1]: (True, 4),
            keys[2]: (True, 6),
        }
        assert instance.get_materialized_partitions(KEY) == set()
    assert campaigns_snapshot(conn) == before
    assert log_rows(conn) == []


def test_a_failing_client_is_named_and_the_others_finish(
    conn: Connection, engine: Engine, db_env: str, drifting_clients: list[dict]
) -> None:
    keys = [c["client"] for c in drifting_clients]
    busy = keys[1]
    with engine.connect() as holder, dg.instance_for_test() as instance:
        holder.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": busy})
        holder.commit()
        instance.add_dynamic_partitions("clients", keys)
        result = run_job(
            instance,
            tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
            run_config={"ops": {OP: {"config": {"lock_timeout_seconds": 0.5}}}},
        )
        holder.execute(text("SELECT pg_advisory_unlock(client_lock_key(:c))"), {"c": busy})
        holder.commit()
        assert not result.success
        assert set(materialized(result)) == {keys[0], keys[2]}
        [failure] = result.get_step_failure_events()
        description = failure.step_failure_data.user_failure_data.description
        assert description.startswith("stats reconciliation failed for 1 of 3 client(s): Client 1 (" + busy)
        assert "is busy" in description
        assert instance.get_materialized_partitions(KEY) == {keys[0], keys[2]}
    assert [counters(conn, c["campaign"])[0] for c in drifting_clients] == [5, 9, 5]


@pytest.mark.parametrize(
    ("run_config", "message"),
    [
        ({"ops": {OP: {"config": {"lock_timeout_seconds": 0}}}}, "lock_timeout_seconds must be in (0, 3600]"),
        (None, "inactive client id(s)"),
    ],
    ids=["bad-config", "deactivated-client"],
)
def test_bad_input_fails_the_run_clearly_and_changes_nothing(
    conn: Connection, db_env: str, drifting_clients: list[dict], run_config: dict | None, message: str
) -> None:
    keys = [c["client"] for c in drifting_clients]
    if run_config is None:  # a client deactivated after its partition was made
        conn.execute(text("UPDATE clients SET is_active = false WHERE id = :c"), {"c": keys[1]})
        conn.commit()
    before = campaigns_snapshot(conn)
    conn.commit()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", keys)
        if run_config is None:  # one client's run: strict (a sweep over the range skips it instead)
            result = run_job(instance, partition_key=keys[1])
        else:
            result = run_job(instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}, run_config=run_config)
        assert not result.success
        [failure] = result.get_step_failure_events()
        assert message in failure.step_failure_data.user_failure_data.description
    assert campaigns_snapshot(conn) == before
    assert log_rows(conn) == []


def test_daily_schedule_asks_for_one_run_over_all_clients(
    conn: Connection, db_env: str, drifting_clients: list[dict]
) -> None:
    keys = [c["client"] for c in drifting_clients]
    assert stats_reconciliation_schedule.cron_schedule == "30 3 * * *"
    assert defs.resolve_schedule_def("stats_reconciliation_schedule").job_name == JOB
    with dg.instance_for_test() as instance:
        empty = stats_reconciliation_schedule(dg.build_schedule_context(instance=instance))
        assert isinstance(empty, dg.SkipReason)
        instance.add_dynamic_partitions("clients", keys)
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2025, 3, 4, 3, 30, tzinfo=UTC)
        )
        request = stats_reconciliation_schedule(context)
        assert isinstance(request, dg.RunRequest)
        assert request.run_key == "stats_reconciliation:2025-03-04T03:30:00+00:00"
        assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (keys[0], keys[-1])
        # the requested run, executed: every client reconciled in that one run
        result = run_job(instance, tags=request.tags)
        assert result.success
        assert set(materialized(result)) == set(keys)
    assert [counters(conn, c["campaign"])[0] for c in drifting_clients] == [5, 5, 5]


def test_a_range_run_skips_a_client_deactivated_since_the_partition_sync(
    conn: Connection, db_env: str, drifting_clients: list[dict]
) -> None:
    keys = [c["client"] for c in drifting_clients]
    conn.execute(text("UPDATE clients SET is_active = false WHERE id = :c"), {"c": keys[1]})
    conn.commit()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", keys)
        result = run_job(instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
        # before: require_active_clients failed the whole daily reconciliation
        assert result.success
        assert set(materialized(result)) == {keys[0], keys[2]}
        warnings = [
            e.message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING and keys[1] in e.message
        ]
        assert warnings and "not an active client" in warnings[0]
    assert [counters(conn, c["campaign"])[0] for c in drifting_clients] == [5, 5 + 4, 5]
