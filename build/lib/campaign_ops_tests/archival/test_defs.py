"""Real Dagster runs of monthly_archival_job (execute_in_process) and its schedule (build_schedule_context)."""

from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import Connection, text

from campaign_ops.archival.defs import monitoring_archives_asset, monthly_archival_schedule
from campaign_ops.clients.tags import RANGE_END_TAG, RANGE_START_TAG
from campaign_ops.definitions import defs
from campaign_ops_tests.archival.builders import clients_with_history, everything, where_rows_are

KEY = monitoring_archives_asset.key
JOB = "monthly_archival_job"
OP = "archive_monitoring_tables"


def run_job(instance: dg.DagsterInstance, *, run_config: dict | None = None, **kwargs) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(JOB).execute_in_process(
        instance=instance, run_config=run_config or {}, raise_on_error=False, **kwargs
    )


def materialized(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {
        e.materialization.partition: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def sweep_observation(result: dg.ExecuteInProcessResult) -> dict:
    [event] = [
        e for e in result.get_asset_observation_events() if e.asset_observation_data.asset_observation.partition is None
    ]
    return {k: v.value for k, v in event.asset_observation_data.asset_observation.metadata.items()}


def test_one_partition_run_archives_that_client_only(conn: Connection, db_env: str) -> None:
    clients = clients_with_history(conn, 2)
    untouched = where_rows_are(conn, clients[1])
    all_rows = everything(conn, clients[0])
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", clients)
        result = run_job(instance, partition_key=clients[0])
        assert result.success
        meta = materialized(result)[clients[0]]
        assert (meta["lead_log_archived"], meta["runs_archived"], meta["runs_kept_for_live_logs"]) == (2, 1, 0)
        assert meta["client_name"] == "Client 0" and meta["dry_run"] is False
        sweep = sweep_observation(result)
        assert (sweep["clients_archived"], sweep["lead_log_archived"], sweep["vacuumed"]) == (1, 2, True)
        assert sweep["de_enrollment_lead_log_archive_bytes"] > 0 and sweep["size_warnings"] == 0
        assert "| de_enrollment_lead_log_archive |" in sweep["table_sizes"]
        assert instance.get_materialized_partitions(KEY) == {clients[0]}
    assert everything(conn, clients[0]) == all_rows
    assert where_rows_are(conn, clients[1]) == untouched


def test_schedule_run_covers_every_client_in_one_run(conn: Connection, db_env: str) -> None:
    clients = clients_with_history(conn, 3)
    before = {c: everything(conn, c) for c in clients}
    assert monthly_archival_schedule.cron_schedule == "0 2 1 * *"  # the 1st of each month
    assert defs.resolve_schedule_def("monthly_archival_schedule").job_name == JOB
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", clients)
        tick = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
        request = monthly_archival_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=tick))
        assert isinstance(request, dg.RunRequest)
        assert request.run_key == "monthly_archival:2025-06-01T02:00:00+00:00"
        assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (clients[0], clients[-1])
        result = run_job(instance, tags=request.tags)
        assert result.success
        assert {k: v["lead_log_archived"] for k, v in materialized(result).items()} == {c: 2 for c in clients}
        assert sweep_observation(result)["lead_log_archived"] == 6
        assert instance.get_materialized_partitions(KEY) == set(clients)
        assert len(instance.get_run_records()) == 1
        # running it again is harmless: nothing left to move
        again = run_job(instance, tags=request.tags)
        assert again.success and {v["lead_log_archived"] for v in materialized(again).values()} == {0}
    assert {c: everything(conn, c) for c in clients} == before


def test_size_warning_and_retention_config(conn: Connection, db_env: str) -> None:
    clients = clients_with_history(conn, 1)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", clients)
        result = run_job(
            instance,
            partition_key=clients[0],
            run_config={
                "ops": {
                    OP: {"config": {"lead_log_retention_days": 5, "runs_retention_days": 50, "size_warning_gb": 1e-6}}
                }
            },
        )
        assert result.success
        meta = materialized(result)[clients[0]]
        assert (meta["lead_log_archived"], meta["runs_archived"]) == (3, 2)
        sweep = sweep_observation(result)
        assert sweep["size_warnings"] >= 1 and "schedule maintenance (SOP weekly review)" in sweep["table_sizes"]


def test_dry_run_observes_and_changes_nothing(conn: Connection, db_env: str) -> None:
    clients = clients_with_history(conn, 2)
    before = {c: where_rows_are(conn, c) for c in clients}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", clients)
        result = run_job(
            instance,
            tags={RANGE_START_TAG: clients[0], RANGE_END_TAG: clients[-1]},
            run_config={"ops": {OP: {"config": {"dry_run": True}}}},
        )
        assert result.success and result.get_asset_materialization_events() == []
        assert sweep_observation(result)["vacuumed"] is False
        assert instance.get_materialized_partitions(KEY) == set()
    assert {c: where_rows_are(conn, c) for c in clients} == before


def test_bad_retention_fails_the_run_clearly_and_changes_nothing(conn: Connection, db_env: str) -> None:
    clients = clients_with_history(conn, 1)
    before = where_rows_are(conn, clients[0])
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", clients)
        for config, message in (
            (
                {"runs_retention_days": 0},
                "runs retention (runs_retention_days, --runs-older-than-days) must be positive",
            ),
            ({"lead_log_retention_days": -1}, "lead-log retention"),
            ({"size_warning_gb": 0}, "size_warning_gb must be positive"),
        ):
            result = run_job(instance, partition_key=clients[0], run_config={"ops": {OP: {"config": config}}})
            assert not result.success
            [failure] = result.get_step_failure_events()
            assert message in failure.step_failure_data.user_failure_data.description
    assert where_rows_are(conn, clients[0]) == before


def test_a_failing_client_is_named_and_the_others_finish(conn: Connection, db_env: str) -> None:
    clients = clients_with_history(conn, 3)
    # an archive row already holding the id of one of client 1's old runs: its copy fails, it rolls back
    conn.execute(
        text(
            "INSERT INTO de_enrollment_runs_archive (id, run_at, client_id, status, leads_evaluated, leads_de_enrolled,"
            " leads_skipped) SELECT id, run_at, client_id, status, 0, 0, 0 FROM de_enrollment_runs"
            " WHERE client_id = :c AND run_at < now() - interval '90 days'"
        ),
        {"c": clients[1]},
    )
    conn.commit()
    stuck = where_rows_are(conn, clients[1])
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", clients)
        result = run_job(instance, tags={RANGE_START_TAG: clients[0], RANGE_END_TAG: clients[-1]})
        assert not result.success
        assert set(materialized(result)) == {clients[0], clients[2]}
        assert sweep_observation(result)["vacuumed"] is True  # the sweep's maintenance still ran once
        [failure] = result.get_step_failure_events()
        description = failure.step_failure_data.user_failure_data.description
        assert description.startswith(f"archival failed for 1 of 3 client(s): Client 1 ({clients[1]}): ")
        assert "UniqueViolation" in description
    assert where_rows_are(conn, clients[1]) == stuck


def test_a_sweep_skips_deactivated_partitions_and_archives_inactive_clients_by_age(
    conn: Connection, db_env: str
) -> None:
    clients = clients_with_history(conn, 3)
    gone = clients[1]
    conn.execute(text("UPDATE clients SET is_active = false WHERE id = :c"), {"c": gone})
    conn.commit()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", clients)
        result = run_job(instance, tags={RANGE_START_TAG: clients[0], RANGE_END_TAG: clients[-1]})
        # before: the deactivated client's partition failed the whole monthly archival, and its rows never moved
        assert result.success
        assert {k: v["lead_log_archived"] for k, v in materialized(result).items()} == {c: 2 for c in clients}
        assert any(
            gone in (e.message or "") and "not an active client" in e.message for e in instance.all_logs(result.run_id)
        )
    assert (
        conn.execute(
            text("SELECT count(*) FROM de_enrollment_lead_log_archive WHERE client_id = :c"), {"c": gone}
        ).scalar()
        == 2
    )
