"""De-enrollment through real Dagster runs: one client (a backfill) and all clients (the scheduled sweep)."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Connection, Engine, text

from campaign_ops.check_kit.markdown import UI_TABLE_ROWS
from campaign_ops.clients.tags import RANGE_END_TAG, RANGE_START_TAG
from campaign_ops.db.urls import normalise_url
from campaign_ops.definitions import defs
from campaign_ops.service.environment import INSTANCE_YAML
from campaign_ops_tests.de_enrollment.conftest import make_client, snapshot
from campaign_ops_tests.factories import add_client, add_lead

LEADS = dg.AssetKey("leads")
CAMPAIGNS = dg.AssetKey("campaigns")
DE_ENROLLMENT_RUNS = dg.AssetKey("de_enrollment_runs")


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def job():
    return defs.resolve_job_def("de_enrollment_job")


def lead_log_refuses(conn: Connection, client_id: str) -> None:
    """From now on `client_id`'s lead-log rows fail ("log disk full"): its pass fails, the others' do not."""
    conn.execute(
        text(
            "CREATE FUNCTION no_logs() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'log disk full'; END $$;"
            " CREATE TRIGGER no_logs BEFORE INSERT ON de_enrollment_lead_log FOR EACH ROW"
            f" WHEN (NEW.client_id = '{client_id}') EXECUTE FUNCTION no_logs();"
        )
    )
    conn.commit()


def materializations(instance: dg.DagsterInstance, key: dg.AssetKey = LEADS) -> dict[str, dict]:
    records = instance.fetch_materializations(key, limit=100).records
    return {r.partition_key: r.asset_materialization.metadata for r in records}


def test_one_client_run_materializes_that_client_with_its_figures(conn: Connection, db_env: str, instance) -> None:
    a, b = make_client(conn, due=5), make_client(conn)
    conn.commit()
    instance.add_dynamic_partitions("clients", [a.client_id, b.client_id])
    result = job().execute_in_process(instance=instance, partition_key=a.client_id)
    assert result.success
    mats = materializations(instance)
    assert list(mats) == [a.client_id]
    meta = mats[a.client_id]
    assert meta["status"].value == "success"
    assert (
        meta["leads_de_enrolled"].value,
        meta["completed"].value,
        meta["opted_out"].value,
        meta["booked"].value,
    ) == (
        7,
        5,
        1,
        1,
    )
    assert meta["leads_evaluated"].value == 5 + 3 + 2
    for key in ("campaigns", "de_enrollment_runs"):
        assert list(materializations(instance, dg.AssetKey(key))) == [a.client_id]
    dagster_run_id = conn.execute(
        text("SELECT dagster_run_id FROM de_enrollment_runs WHERE client_id = :c"), {"c": a.client_id}
    ).scalar()
    assert dagster_run_id == result.run_id


def test_sweep_run_covers_every_active_client_in_one_run(conn: Connection, db_env: str, instance) -> None:
    clients = [make_client(conn, due=i + 1) for i in range(3)]
    inactive = make_client(conn, active=False)
    conn.commit()
    keys = [c.client_id for c in [*clients, inactive]]
    instance.add_dynamic_partitions("clients", keys)
    result = job().execute_in_process(instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
    assert result.success
    assert len(instance.get_run_records()) == 1
    mats = materializations(instance)
    assert set(mats) == {c.client_id for c in clients}  # the deactivated client's partition is skipped
    assert sorted(m["leads_de_enrolled"].value for m in mats.values()) == [3, 4, 5]
    assert instance.get_materialized_partitions(LEADS) == {c.client_id for c in clients}


def test_a_failing_client_fails_the_run_after_the_others_finished(
    conn: Connection, engine: Engine, db_env: str, instance
) -> None:
    good, bad = make_client(conn), make_client(conn)
    lead_log_refuses(conn, bad.client_id)
    keys = sorted([good.client_id, bad.client_id])
    instance.add_dynamic_partitions("clients", keys)
    result = job().execute_in_process(
        instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.user_failure_data.description
    assert "de-enrollment failed for 1 of 2 client(s): " in message and bad.client_id in message
    assert "log disk full" in message
    assert set(materializations(instance)) == {good.client_id}


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("not-a-uuid", "client id 'not-a-uuid' is not a uuid"),
        ("00000000-0000-0000-0000-000000000000", "unknown client id(s): 00000000-0000-0000-0000-000000000000"),
    ],
    ids=["malformed", "unknown"],
)
def test_bad_partition_key_fails_the_run_with_the_reason_and_changes_nothing(
    conn: Connection, db_env: str, instance, key: str, reason: str
) -> None:
    make_client(conn)
    conn.commit()
    before = snapshot(conn)
    instance.add_dynamic_partitions("clients", [key])
    result = job().execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_failure_data.user_failure_data.description == reason
    assert snapshot(conn) == before
    assert conn.execute(text("SELECT count(*) FROM de_enrollment_runs")).scalar() == 0


def test_inactive_client_partition_is_refused_for_a_one_client_run(conn: Connection, db_env: str, instance) -> None:
    inactive = make_client(conn, active=False)
    conn.commit()
    instance.add_dynamic_partitions("clients", [inactive.client_id])
    result = job().execute_in_process(instance=instance, partition_key=inactive.client_id, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_failure_data.user_failure_data.description == f"inactive client id(s): {inactive.client_id}"


def test_invalid_run_config_is_a_clear_failure(conn: Connection, db_env: str, instance) -> None:
    data = make_client(conn)
    conn.commit()
    instance.add_dynamic_partitions("clients", [data.client_id])
    config = {"ops": {"de_enrollment": {"config": {"batch_size": 0}}}}
    result = job().execute_in_process(
        instance=instance, partition_key=data.client_id, run_config=config, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "invalid de-enrollment configuration: batch_size must be a positive integer, got 0" in (
        failure.step_failure_data.user_failure_data.description
    )


def test_one_client_run_during_a_sweep_of_that_client_skips_it(
    conn: Connection, engine: Engine, db_env: str, instance
) -> None:
    data = make_client(conn)
    conn.commit()
    instance.add_dynamic_partitions("clients", [data.client_id])
    sweep_worker = engine.connect()  # stands for the sweep holding the client's lock
    try:
        sweep_worker.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": data.client_id})
        sweep_worker.commit()
        result = job().execute_in_process(instance=instance, partition_key=data.client_id)
    finally:
        sweep_worker.close()
    assert result.success
    logs = [e.message for e in instance.all_logs(result.run_id) if e.message]
    assert any("skipped" in m and "lock is held" in m for m in logs)
    assert materializations(instance) == {}


def test_schedule_asks_for_one_plain_sweep_run_whose_max_runtime_follows_budget_and_clients(
    instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    schedule = defs.resolve_schedule_def("de_enrollment_sweep_schedule")
    assert schedule.job_name == "de_enrollment_sweep_job" and schedule.cron_schedule == "*/15 * * * *"
    tick = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
    monkeypatch.delenv("DE_ENROLLMENT_MAX_RUNTIME", raising=False)
    [request] = schedule.evaluate_tick(dg.build_schedule_context(instance, scheduled_execution_time=tick)).run_requests
    assert request.run_key == "de_enrollment:2026-11-24T09:15:00+00:00"
    assert not {RANGE_START_TAG, RANGE_END_TAG} & set(request.tags)  # not a partition range: no per-client events
    assert request.tags["dagster/max_runtime"] == str(240 + 60 + 0)

    instance.add_dynamic_partitions("clients", [f"00000000-0000-0000-0000-{i:012d}" for i in range(1000)])
    monkeypatch.setenv("DE_ENROLLMENT_MAX_RUNTIME", "600000")
    [request] = schedule.evaluate_tick(dg.build_schedule_context(instance, scheduled_execution_time=tick)).run_requests
    assert request.tags["dagster/max_runtime"] == str(600 + 60 + 50)
    job_tags = defs.resolve_job_def("de_enrollment_job").tags
    assert job_tags["dagster/max_runtime"] == str(240 + 60 + 1)  # one-client runs: the default budget


def sweep_job():
    return defs.resolve_job_def("de_enrollment_sweep_job")


def event_rows(instance: dg.DagsterInstance, run_id: str) -> int:
    return len(instance.all_logs(run_id))


def test_a_sweep_with_nothing_due_writes_as_many_events_for_3_clients_as_for_30(
    conn: Connection, db_env: str, instance
) -> None:
    """A range run wrote 8 event-log rows per client whatever happened; the sweep's follow the work."""
    rows = {}
    for size in (3, 30):
        while conn.execute(text("SELECT count(*) FROM clients")).scalar() < size:
            make_client(conn, due=0)
        conn.execute(text("UPDATE leads SET opted_out = false, booked_meeting = false"))
        conn.commit()
        keys = [str(c) for c in conn.execute(text("SELECT id FROM clients")).scalars()]
        instance.add_dynamic_partitions(
            "clients", [k for k in keys if not instance.has_dynamic_partition("clients", k)]
        )
        first = sweep_job().execute_in_process(instance=instance)  # the new clients' first passes
        assert first.success
        result = sweep_job().execute_in_process(instance=instance)
        assert result.success
        rows[size] = event_rows(instance, result.run_id)
        # every client still got its pass with its true counts (5 active leads, none due): the SOP reads them
        passes = conn.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE status = 'success' AND leads_de_enrolled = 0"
                " AND leads_evaluated = 5) FROM de_enrollment_runs WHERE dagster_run_id = :r"
            ),
            {"r": result.run_id},
        ).one()
        assert tuple(passes) == (size, size)
    assert rows[3] == rows[30], rows


def pass_statuses(conn: Connection, dagster_run_id: str) -> dict[str, str]:
    """client id -> the status of its pass in that Dagster run."""
    rows = conn.execute(
        text("SELECT client_id::text, status FROM de_enrollment_runs WHERE dagster_run_id = :r"), {"r": dagster_run_id}
    ).all()
    return {client: status for client, status in rows}


def test_a_failing_client_in_a_sweep_is_named_and_the_others_are_done(conn: Connection, db_env: str, instance) -> None:
    good, bad, other = make_client(conn), make_client(conn), make_client(conn, due=1)
    lead_log_refuses(conn, bad.client_id)
    instance.add_dynamic_partitions("clients", [good.client_id, bad.client_id, other.client_id])
    result = sweep_job().execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.user_failure_data.description
    assert "de-enrollment failed for 1 of 3 client(s): " in message and bad.client_id in message
    assert "log disk full" in message
    assert set(materializations(instance)) == {good.client_id, other.client_id}
    statuses = pass_statuses(conn, result.run_id)
    assert statuses == {good.client_id: "success", bad.client_id: "failed", other.client_id: "success"}
    # the Runs list names the failed client (a tag the run wrote before it failed), not the others
    bad_name = conn.execute(text("SELECT company_name FROM clients WHERE id = :c"), {"c": bad.client_id}).scalar()
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags["campaign_ops/failed_clients"] == bad_name
    assert "campaign_ops/skipped_clients" not in tags and "campaign_ops/partial_clients" not in tags


def test_a_one_client_run_carries_its_clients_name_from_its_start(conn: Connection, db_env: str, instance) -> None:
    """A run launched from the UI carries only its partition key: the run tags itself with the client's name, so
    a run over before any sensor looks still shows (and the checks it evaluates name) the client."""
    a = make_client(conn, due=1)
    conn.execute(text("UPDATE clients SET company_name = 'Acme Dental' WHERE id = :c"), {"c": a.client_id})
    conn.commit()
    instance.add_dynamic_partitions("clients", [a.client_id])
    result = job().execute_in_process(instance=instance, partition_key=a.client_id)
    assert result.success
    tags = instance.get_run_by_id(result.run_id).tags
    assert (tags["campaign_ops/client"], tags["campaign_ops/client_id"]) == ("Acme Dental", a.client_id)
    evaluated = result.get_asset_check_evaluations()
    assert evaluated and all(e.description.startswith(f"Acme Dental ({a.client_id}): ") for e in evaluated)


def test_a_sweeps_table_shows_who_needs_someone_first_and_its_json_every_client(
    conn: Connection, db_env: str, instance
) -> None:
    busy = [make_client(conn, due=1) for _ in range(UI_TABLE_ROWS + 3)]
    bad = make_client(conn, due=1)
    lead_log_refuses(conn, bad.client_id)
    result = sweep_job().execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.step_output_data.metadata
    table = str(metadata["clients_with_changes_or_problems"].value)
    rows = [line for line in table.split("\n") if line.startswith("| ")][1:]  # less the header
    assert len(rows) == UI_TABLE_ROWS
    assert rows[0].startswith("| failed |") and bad.client_id in rows[0]
    assert "and 4 more rows, not shown here: every client is in `client_figures`" in table
    assert set(metadata["client_figures"].value) == {c.client_id for c in [*busy, bad]}  # type: ignore[arg-type]


def test_named_partition_keys_materialize_their_own_partitions(conn: Connection, db_env: str, instance) -> None:
    from campaign_ops.clients.partition_keys import client_names, partition_key

    a, b = make_client(conn, due=2), make_client(conn, due=3)
    conn.commit()
    names = client_names(conn, [a.client_id, b.client_id])
    keys = [partition_key(c, names[c]) for c in (a.client_id, b.client_id)]
    assert all("--" in k for k in keys)
    instance.add_dynamic_partitions("clients", keys)
    one = job().execute_in_process(instance=instance, partition_key=keys[0])
    assert one.success
    assert list(materializations(instance)) == [keys[0]]
    sweep = job().execute_in_process(instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
    assert sweep.success
    assert instance.get_materialized_partitions(LEADS) == set(keys)
    assert materializations(instance)[keys[1]]["leads_de_enrolled"].value == 3 + 2  # due, one opted out, one booked


def test_a_clients_figures_are_shown_once_not_on_each_of_its_three_materializations(
    conn: Connection, db_env: str, instance
) -> None:
    client = make_client(conn, due=3)
    conn.commit()
    instance.add_dynamic_partitions("clients", [client.client_id])
    assert job().execute_in_process(instance=instance, partition_key=client.client_id).success
    leads = materializations(instance)[client.client_id]
    campaigns = materializations(instance, CAMPAIGNS)[client.client_id]
    runs = materializations(instance, DE_ENROLLMENT_RUNS)[client.client_id]
    logged = conn.execute(
        text("SELECT count(*) FROM de_enrollment_lead_log WHERE client_id = :c"), {"c": client.client_id}
    ).scalar_one()
    assert leads["leads_de_enrolled"].value == logged > 0 and "leads_evaluated" in leads and "duration_ms" in leads
    # each other asset: who and how it went, and only the figures that concern it
    assert campaigns["leads_de_enrolled"].value == logged and "leads_evaluated" not in campaigns
    assert runs["de_enrollment_run_id"].value == leads["de_enrollment_run_id"].value
    assert "completed" not in runs and "leads_evaluated" not in runs


# --- what a sweep materializes, on the production instance storage (PostgreSQL, pooled) --------------------------


@pytest.fixture
def pg_instance(empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance as the service's: the package's dagster.yaml, in this test's own PostgreSQL database."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(INSTANCE_YAML)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", normalise_url(empty_db_url))
    with dg.DagsterInstance.get() as inst:
        yield inst


ASSETS = (LEADS, CAMPAIGNS, DE_ENROLLMENT_RUNS)


def materialization_events(instance: dg.DagsterInstance) -> int:
    """Every ASSET_MATERIALIZATION record of the three client-partitioned assets."""
    return sum(len(instance.fetch_materializations(key, limit=10_000).records) for key in ASSETS)


def materialized_by_run(instance: dg.DagsterInstance, run_id: str) -> dict[tuple[str, str], dict]:
    """(asset, partition) -> metadata of each materialization of the three assets the run recorded."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=10_000)
    out = {}
    for record in records.records:
        mat = record.asset_materialization
        if mat is None or mat.asset_key not in ASSETS:  # the latency asset: unpartitioned, one per run
            continue
        assert mat.partition is not None
        out[(mat.asset_key.to_user_string(), mat.partition)] = {k: v.value for k, v in mat.metadata.items()}
    return out


def quiet_client(conn: Connection):
    """A client with leads but none due (its opted-out and booked leads taken back)."""
    client = make_client(conn, due=0)
    conn.execute(
        text("UPDATE leads SET opted_out = false, booked_meeting = false WHERE client_id = :c"),
        {"c": client.client_id},
    )
    return client


def test_the_first_sweep_materializes_every_client_it_processed_changed_or_not(
    conn: Connection, db_env: str, pg_instance: dg.DagsterInstance
) -> None:
    busy = [make_client(conn, due=2), make_client(conn, due=3)]
    quiet = [quiet_client(conn), quiet_client(conn)]
    inactive = make_client(conn, active=False)
    conn.commit()
    processed = {c.client_id for c in [*busy, *quiet]}
    pg_instance.add_dynamic_partitions("clients", [*sorted(processed), inactive.client_id])
    unsynced = add_client(conn)  # activated since the last partition sync: no partition yet
    conn.commit()
    result = sweep_job().execute_in_process(instance=pg_instance)
    assert result.success
    for key in ASSETS:
        assert pg_instance.get_materialized_partitions(key) == processed, key
    mats = materialized_by_run(pg_instance, result.run_id)
    assert len(mats) == 3 * len(processed)
    figures = {p: m["leads_de_enrolled"] for (asset, p), m in mats.items() if asset == "leads"}
    assert figures == {busy[0].client_id: 4, busy[1].client_id: 5, **{c.client_id: 0 for c in quiet}}
    assert {m["status"] for m in mats.values()} == {"success"}
    # the client without a partition got its pass all the same
    status = conn.execute(
        text("SELECT status FROM de_enrollment_runs WHERE client_id = :c AND dagster_run_id = :r"),
        {"c": unsynced, "r": result.run_id},
    ).scalar_one()
    assert status == "success"


def test_a_sweep_with_nothing_due_after_the_first_writes_no_materialization(
    conn: Connection, db_env: str, pg_instance: dg.DagsterInstance
) -> None:
    clients = [make_client(conn, due=2), quiet_client(conn), quiet_client(conn)]
    conn.commit()
    pg_instance.add_dynamic_partitions("clients", [c.client_id for c in clients])
    assert sweep_job().execute_in_process(instance=pg_instance).success
    after_first = materialization_events(pg_instance)
    assert after_first == 3 * len(clients)
    quiet = sweep_job().execute_in_process(instance=pg_instance)
    assert quiet.success
    assert materialization_events(pg_instance) == after_first
    assert materialized_by_run(pg_instance, quiet.run_id) == {}


def test_a_later_sweep_materializes_only_a_new_clients_first_pass_not_the_clients_it_changed(
    conn: Connection, db_env: str, pg_instance: dg.DagsterInstance
) -> None:
    """Every materialization turns the integrity checks "Not evaluated" in the UI until they run again: a client
    already materialized is not materialized again by a sweep that de-enrolled its leads (its figures are in the
    run's output); a client synced since is, with its figures."""
    target, *others = [quiet_client(conn) for _ in range(3)]
    conn.commit()
    pg_instance.add_dynamic_partitions("clients", [c.client_id for c in [target, *others]])
    assert sweep_job().execute_in_process(instance=pg_instance).success
    before = materialization_events(pg_instance)
    for _ in range(2):  # two leads reach the end of their sequence
        add_lead(conn, target.client_id, target.campaign_id, position=3)
    newcomer = make_client(conn, due=1)
    conn.commit()
    pg_instance.add_dynamic_partitions("clients", [newcomer.client_id])
    result = sweep_job().execute_in_process(instance=pg_instance)
    assert result.success
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    figures = output.step_output_data.metadata["client_figures"].value
    assert figures[target.client_id]["leads_de_enrolled"] == 2
    mats = materialized_by_run(pg_instance, result.run_id)
    assert set(mats) == {(asset.to_user_string(), newcomer.client_id) for asset in ASSETS}
    leads = mats[("leads", newcomer.client_id)]
    assert (leads["status"], leads["leads_de_enrolled"]) == ("success", 3)
    run_row = conn.execute(
        text("SELECT id::text FROM de_enrollment_runs WHERE client_id = :c AND dagster_run_id = :r"),
        {"c": newcomer.client_id, "r": result.run_id},
    ).scalar_one()
    assert mats[("de_enrollment_runs", newcomer.client_id)]["de_enrollment_run_id"] == run_row
    assert materialization_events(pg_instance) == before + 3


def test_a_failed_or_lock_skipped_client_gets_no_materialization(
    conn: Connection, engine: Engine, db_env: str, pg_instance: dg.DagsterInstance
) -> None:
    good, failing, locked = make_client(conn), make_client(conn), quiet_client(conn)
    lead_log_refuses(conn, failing.client_id)
    pg_instance.add_dynamic_partitions("clients", [c.client_id for c in (good, failing, locked)])
    holder = engine.connect()  # another session holds the client's lock for the whole sweep
    try:
        holder.execute(text("SELECT pg_advisory_lock(client_lock_key(:c))"), {"c": locked.client_id})
        holder.commit()
        # a short budget: the sweep gives up waiting for the held lock at its deadline
        config = {"ops": {"de_enrollment_sweep": {"config": {"max_runtime_ms": 3000}}}}
        result = sweep_job().execute_in_process(instance=pg_instance, run_config=config, raise_on_error=False)
    finally:
        holder.close()
    assert not result.success  # the failing client fails the run, after the others
    statuses = pass_statuses(conn, result.run_id)
    assert statuses == {good.client_id: "success", failing.client_id: "failed", locked.client_id: "skipped"}
    for key in ASSETS:
        assert pg_instance.get_materialized_partitions(key) == {good.client_id}, key
