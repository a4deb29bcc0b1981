"""The checks as real Dagster runs: check jobs executed in process on a test instance with the clients
partitions, schedules evaluated with build_schedule_context, the after-de-enrollment sensor with
build_run_status_sensor_context."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import Connection, Engine, text

from bench.sensor_ticks import record_check_sensor_tick
from campaign_ops.assets import (
    CAMPAIGNS,
    DE_ENROLLMENT_RUNS,
    LEADS,
    campaigns_asset,
    de_enrollment_runs_asset,
    leads_asset,
)
from campaign_ops.checks import defs as checks
from campaign_ops.clients.partition_keys import CLIENT_ID_TAG
from campaign_ops.clients.partitions import clients_partitions
from campaign_ops.clients.tags import RANGE_END_TAG, RANGE_START_TAG, SWEEP_TAG
from campaign_ops.de_enrollment.defs import de_enrollment_job, de_enrollment_sweep_job
from campaign_ops.de_enrollment.due import DUE_CLIENTS
from campaign_ops.onboarding import defs as onboarding
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.checks.helpers import add_leads, add_runs, refresh_counters
from campaign_ops_tests.factories import add_campaign, add_client

UNREACHABLE_URL = "postgresql://postgres:s3cr3t-pw@127.0.0.1:1/campaign_ops"


@dg.multi_asset(
    name="stand_in_de_enrollment",
    specs=[leads_asset, campaigns_asset, de_enrollment_runs_asset],
    partitions_def=clients_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def stand_in_de_enrollment(context: dg.AssetExecutionContext) -> Iterator[dg.AssetMaterialization]:
    """Records one materialization per client partition, as de-enrollment does."""
    for client in context.partition_keys:
        for key in (LEADS, CAMPAIGNS, DE_ENROLLMENT_RUNS):
            yield dg.AssetMaterialization(asset_key=key, partition=client, metadata={"leads_de_enrolled": 0})


stand_in_job = dg.define_asset_job(
    de_enrollment_job.name, selection=[stand_in_de_enrollment], executor_def=dg.in_process_executor
)


def make_defs(url: str) -> dg.Definitions:
    return dg.Definitions.merge(
        checks.defs,
        onboarding.defs,  # its check runs in the 5-minute alerting_checks_job
        dg.Definitions(
            assets=[stand_in_de_enrollment], jobs=[stand_in_job], resources={"database": DatabaseResource(url=url)}
        ),
    )


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    found = result.get_asset_check_evaluations()
    by_name = {e.check_name: e for e in found}
    assert len(by_name) == len(found), "one evaluation per check per run"
    return by_name


def value(evaluation: dg.AssetCheckEvaluation, key: str) -> object:
    return evaluation.metadata[key].value


def two_clients(conn: Connection) -> tuple[str, str]:
    """A: 101 stuck leads (WARN) and a campaign drifted by 6 (WARN). B: clean. Both ran successfully just now."""
    a, b = add_client(conn, name="Alpha"), add_client(conn, name="Beta")
    ca, cb = add_campaign(conn, a, messages=3), add_campaign(conn, b, messages=3)
    add_leads(conn, a, ca, count=101, position=3)
    add_leads(conn, b, cb, count=10, position=1)
    refresh_counters(conn)
    conn.execute(text("UPDATE campaigns SET completed_leads_count = 6 WHERE id = :id"), {"id": ca})
    add_runs(conn, a, minutes_ago=1)
    add_runs(conn, b, minutes_ago=1)
    conn.commit()
    return a, b


def test_checks_jobs_and_schedules_are_defined_as_the_sop_asks() -> None:
    specs = {spec.name: spec for c in checks.asset_checks for spec in c.check_specs}
    assert {name: spec.asset_key for name, spec in specs.items()} == {
        "stuck_leads": LEADS,
        "stats_drift": CAMPAIGNS,
        "duplicate_de_enrollments": DE_ENROLLMENT_RUNS,
        "de_enrollment_health": DE_ENROLLMENT_RUNS,
        "schema_contract": checks.database_schema_asset.key,
        "skipped_de_enrollments": LEADS,
    }
    # unpartitioned: one evaluation per run whatever the number of clients, executable from the UI
    assert all(spec.partitions_def is None for spec in specs.values())
    schedules = {s.name: (s.cron_schedule, s.job_name) for s in checks.defs.schedules}
    assert schedules == {
        "integrity_checks_schedule": ("5 * * * *", "integrity_checks_job"),
        "skipped_de_enrollments_schedule": ("7 * * * *", "skipped_de_enrollments_job"),
    }
    # the detectors of the SOP's alert lines: every 5 minutes, in a sensor's tick (no run worker each time)
    sensor = checks.alerting_checks_sensor
    assert (sensor.minimum_interval_seconds, sensor.default_status) == (300, dg.DefaultSensorStatus.RUNNING)
    assert sensor.targets == []  # it launches nothing: it records evaluations
    defs = make_defs("postgresql://unused@127.0.0.1:1/x")
    steps = {
        job: sorted(n.name for n in defs.resolve_job_def(job).graph.node_defs)
        for job in (
            "integrity_checks_job",
            "de_enrollment_health_job",
            "schema_contract_job",
            "alerting_checks_job",
            "skipped_de_enrollments_job",
        )
    }
    assert steps == {
        "integrity_checks_job": [
            "campaigns_stats_drift",
            "de_enrollment_runs_duplicate_de_enrollments",
            "leads_stuck_leads",
        ],
        "de_enrollment_health_job": ["de_enrollment_runs_de_enrollment_health"],
        "schema_contract_job": ["database_schema_schema_contract"],
        "alerting_checks_job": [
            "database_schema_schema_contract",
            "de_enrollment_runs_de_enrollment_health",
            "leads_stuck_leads",
            # the onboarding check runs every 5 minutes in this run, not in a run (a run worker) of its own
            "onboarding_states_stuck_onboarding_clients",
        ],
        "skipped_de_enrollments_job": ["leads_skipped_de_enrollments"],
    }


def test_a_one_client_run_answers_its_client_first_and_judges_every_client(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    """A check's latest evaluation is its status in the UI: after an all-clients FAIL, a run asking about a client
    that passes (the checks after its one-client backfill) must not turn the check green while another fails."""
    a, b = two_clients(conn)
    instance.add_dynamic_partitions("clients", [a, b])
    job = make_defs(db_url).resolve_job_def("integrity_checks_job")
    drift_key = dg.AssetCheckKey(CAMPAIGNS, "stats_drift")

    job.execute_in_process(instance=instance)
    assert instance.get_latest_asset_check_evaluation_record(drift_key).status.value == "FAILED"

    found_b = evaluations(job.execute_in_process(instance=instance, tags={checks.CLIENT_TAG: b}))
    drift = found_b["stats_drift"]
    assert (drift.passed, drift.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert (drift.description or "").startswith(f"Beta ({b}): no findings. All active clients: ")
    assert f"Where: Alpha ({a})" in (drift.description or "")
    assert value(drift, "asked_client") == f"client Beta ({b})"
    assert value(drift, "scope") == "all active clients" and "client_id" not in drift.metadata
    latest = instance.get_latest_asset_check_evaluation_record(drift_key)
    assert latest is not None and latest.status.value == "FAILED"
    assert latest.event is not None and latest.event.dagster_event is not None
    assert not latest.event.dagster_event.event_specific_data.passed

    found_a = evaluations(job.execute_in_process(instance=instance, tags={checks.CLIENT_TAG: a}))
    stuck = found_a["stuck_leads"]
    assert (stuck.description or "").startswith(f"Alpha ({a}): warn: stuck_leads: 101")
    assert value(stuck, "stuck_leads") == 101 and value(stuck, "clients_with_findings_count") == 1


def test_the_hourly_schedule_asks_one_plain_run_whose_evaluation_names_every_failing_client(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    a, b = two_clients(conn)
    defs = make_defs(db_url)
    tick = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
    request = checks.integrity_checks_schedule(dg.build_schedule_context(instance, scheduled_execution_time=tick))
    assert isinstance(request, dg.RunRequest)
    assert not set(request.tags) & {RANGE_START_TAG, RANGE_END_TAG, checks.CLIENT_TAG}  # every active client
    assert request.run_key == f"integrity_checks:{tick.isoformat()}"

    result = defs.resolve_job_def("integrity_checks_job").execute_in_process(instance=instance, tags=request.tags)
    found = evaluations(result)
    assert {e.partition for e in found.values()} == {None}
    stuck = found["stuck_leads"]
    assert (stuck.passed, stuck.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert value(stuck, "stuck_leads") == 101 and value(stuck, "scope") == "all active clients"
    # per client, by name (the uuid stays in the label and the entry)
    assert value(stuck, "clients_with_findings") == {
        f"Alpha ({a})": {"client": "Alpha", "client_id": a, "stuck_leads": 101, "level": "warn"}
    }
    assert f"Where: Alpha ({a})" in stuck.description  # the failing client is named, B is not
    assert b not in stuck.description and b not in value(stuck, "client_findings")
    table = value(stuck, "client_findings").splitlines()
    assert len(table) == 3 and f"| warn | Alpha | {a} | stuck_leads: 101 |" == table[2]
    drift = found["stats_drift"]
    (campaign_name,) = conn.execute(text("SELECT name FROM campaigns WHERE client_id = :a"), {"a": a}).scalars()
    assert value(drift, "clients_with_findings") == {
        f"Alpha ({a})": {
            "client": "Alpha",
            "client_id": a,
            "drifted_campaigns": 1,
            "largest_difference": 6,
            "campaigns": [f"{campaign_name} off by 6"],
            "level": "warn",
        }
    }
    assert value(drift, "campaigns_checked") == 2
    # which client, which campaign, and what to do: in the description the UI shows, and in the metadata
    assert f"Where: Alpha ({a})" in (drift.description or "")
    assert f"Alpha: {campaign_name} off by 6" in (drift.description or "")
    assert 'campaign-ops reconcile --client "Alpha"' in (drift.description or "")
    assert value(drift, "clients") == f"Alpha ({a})"
    # the fixing job's page for Alpha alone: its Materialize… dialog opens with Alpha's partition selected
    assert str(value(drift, "fix_in_dagster")).endswith(
        f"/locations/campaign_ops/jobs/stats_reconciliation_job/partitions?partition=Alpha--{a}"
    )
    assert 'campaign-ops de-enroll --client "Alpha"' in str(value(stuck, "to_do"))
    assert "Beta" not in (drift.description or "") + (stuck.description or "")
    dups = found["duplicate_de_enrollments"]
    assert dups.passed and value(dups, "clients_with_findings_count") == 0 and "Where:" not in dups.description


def _check_rows(instance: dg.DagsterInstance, run_id: str) -> int:
    """asset_check_executions rows this run wrote, over every check of the project."""
    return sum(
        1
        for c in checks.asset_checks
        for spec in c.check_specs
        for record in instance.event_log_storage.get_asset_check_execution_history(spec.key, limit=100_000)
        if record.run_id == run_id
    )


def test_one_all_clients_check_run_writes_one_row_per_check_whatever_the_number_of_clients(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    """Partitioned checks over a range wrote one row per client and check, each listing every key (O(N²))."""
    job = make_defs(db_url).resolve_job_def("integrity_checks_job")
    rows = {}
    for size in (3, 30):
        while len(conn.execute(text("SELECT id FROM clients WHERE is_active")).all()) < size:
            client = add_client(conn)
            add_leads(conn, client, add_campaign(conn, client, messages=3), count=2, position=3)
        conn.commit()
        instance.add_dynamic_partitions(
            "clients", [str(c) for c in conn.execute(text("SELECT id FROM clients")).scalars()]
        )
        request = checks.integrity_checks_schedule(
            dg.build_schedule_context(instance, scheduled_execution_time=datetime(2026, 3, 2, 14, 5, tzinfo=UTC))
        )
        assert isinstance(request, dg.RunRequest)
        result = job.execute_in_process(instance=instance, tags=request.tags)  # as the hourly schedule asks
        assert value(evaluations(result)["stuck_leads"], "clients_with_stuck_leads") == size
        rows[size] = _check_rows(instance, result.run_id)
    assert rows == {3: 3, 30: 3}


def test_each_check_executes_alone_for_all_clients_and_for_one_client_as_the_ui_launches_it(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    """The UI's "Execute": the asset job subset to that one check, no partition, empty or Launchpad config."""
    _, b = two_clients(conn)
    defs = make_defs(db_url)
    for check in checks.asset_checks:
        (spec,) = check.check_specs
        job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_check_selection={spec.key}, asset_selection=set()
        )
        everyone = job.execute_in_process(instance=instance, raise_on_error=False)
        assert everyone.success, spec.name
        (evaluation,) = everyone.get_asset_check_evaluations()
        assert evaluation.check_name == spec.name and evaluation.partition is None
        if spec.name == "schema_contract":
            continue
        assert value(evaluation, "scope") == "all active clients"
        op = job.graph.node_defs[0].name
        one = job.execute_in_process(
            instance=instance, run_config={"ops": {op: {"config": {"client_id": b}}}}, raise_on_error=False
        )
        assert one.success, spec.name
        (only_b,) = one.get_asset_check_evaluations()
        # asked about B, which is fine; judged every active client (the check's status stays everyone's)
        assert value(only_b, "asked_client") == f"client Beta ({b})", spec.name
        assert (only_b.description or "").startswith(f"Beta ({b}): no findings. "), spec.name
        assert (only_b.passed, only_b.severity) == (evaluation.passed, evaluation.severity), spec.name


def sensor_tick(name: str, db_url: str, instance: dg.DagsterInstance) -> dict[str, dg.AssetCheckEvaluation]:
    """One tick of a check sensor on the test database, recorded as the daemon records it (without a run)."""
    sensor = make_defs(db_url).resolve_sensor_def(name)
    return record_check_sensor_tick(sensor, instance, DatabaseResource(url=db_url))


def test_the_5_minute_sensor_records_what_a_run_of_its_job_records_without_the_run(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    ok, late = add_client(conn, name="Okay"), add_client(conn, name="Late")
    add_runs(conn, ok, minutes_ago=1, count=4, spacing_minutes=15)
    add_runs(conn, late, minutes_ago=121)
    conn.commit()
    instance.add_dynamic_partitions("clients", [ok, late])

    ticked = sensor_tick(checks.alerting_checks_sensor.name, db_url, instance)
    health = ticked["de_enrollment_health"]
    assert (health.passed, health.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert value(health, "clients_error") == 1 and value(health, "clients_ok") == 1
    assert value(health, "runs_24h") == 5 and value(health, "success_rate_24h_pct") == 100.0
    assert value(health, "max_hours_since_success") == 2.02
    assert [f["client_id"] for f in value(health, "clients_with_findings").values()] == [late]
    # "Execute" in the UI runs the job: the same checks, the same findings
    job = make_defs(db_url).resolve_job_def("alerting_checks_job")
    ran = evaluations(job.execute_in_process(instance=instance))
    assert (
        set(ran)
        == set(ticked)
        == {"stuck_leads", "de_enrollment_health", "schema_contract", "stuck_onboarding_clients"}
    )
    for name, evaluation in ticked.items():
        assert (evaluation.passed, evaluation.severity, evaluation.description) == (
            ran[name].passed,
            ran[name].severity,
            ran[name].description,
        ), name
        assert evaluation.metadata == ran[name].metadata, name
    # the UI's check history holds both: the sensor's without a run, the run's with it
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(DE_ENROLLMENT_RUNS, "de_enrollment_health"), limit=10
    )
    assert sorted(bool(r.run_id) for r in history) == [False, True]

    only_ok = evaluations(job.execute_in_process(instance=instance, tags={checks.CLIENT_TAG: ok}))
    health_ok = only_ok["de_enrollment_health"]
    # the client asked about is fine; the check's status stays every client's (Late is still failing)
    assert (health_ok.description or "").startswith(f"Okay ({ok}): no findings. ") and not health_ok.passed


def test_schema_contract_every_5_minutes_and_on_a_dropped_column(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    before = sensor_tick(checks.alerting_checks_sensor.name, db_url, instance)["schema_contract"]
    job = make_defs(db_url).resolve_job_def("schema_contract_job")
    assert before.passed and value(before, "objects_missing") == 0
    assert value(before, "scope") == "whole database" and "clients_with_findings" not in before.metadata

    # a run carrying the clients range tags (as `campaign-ops run-job` launches any job) changes nothing
    ranged = job.execute_in_process(instance=instance, tags={RANGE_START_TAG: "a", RANGE_END_TAG: "b"})
    assert evaluations(ranged)["schema_contract"].passed

    conn.execute(text("ALTER TABLE campaigns DROP COLUMN booked_count CASCADE"))
    conn.commit()
    after = evaluations(job.execute_in_process(instance=instance))["schema_contract"]
    assert (after.passed, after.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert value(after, "objects_missing") >= 1
    assert "| column | campaigns.booked_count |" in value(after, "missing_objects")


def test_an_unreachable_database_makes_every_check_error_not_pass(instance: dg.DagsterInstance) -> None:
    defs = make_defs(UNREACHABLE_URL)
    a = "0b5f4a1e-3c1d-4b7e-9a52-1f2e3d4c5b6a"
    instance.add_dynamic_partitions("clients", [a])
    found: dict[str, dg.AssetCheckEvaluation] = {}
    for job_name, tags in (
        ("integrity_checks_job", {checks.CLIENT_TAG: a}),
        ("de_enrollment_health_job", {checks.CLIENT_TAG: a}),
        ("schema_contract_job", {}),
    ):
        result = defs.resolve_job_def(job_name).execute_in_process(instance=instance, tags=tags)
        found.update(evaluations(result))
    assert set(found) == {
        "stuck_leads",
        "stats_drift",
        "duplicate_de_enrollments",
        "de_enrollment_health",
        "schema_contract",
    }
    for evaluation in found.values():
        assert (evaluation.passed, evaluation.severity) == (False, dg.AssetCheckSeverity.ERROR)
        error = str(value(evaluation, "error"))
        assert "cannot connect to PostgreSQL at" in error and "127.0.0.1:1" in error
        assert "s3cr3t-pw" not in error and "s3cr3t-pw" not in (evaluation.description or "")
        assert evaluation.description.startswith("check could not run (")
        assert not any(isinstance(v, dg.IntMetadataValue) for v in evaluation.metadata.values())  # no fake zeros


def test_a_statement_timeout_is_an_error_evaluation(
    conn: Connection, engine: Engine, db_url: str, instance: dg.DagsterInstance
) -> None:
    a, _ = two_clients(conn)
    instance.add_dynamic_partitions("clients", [a])
    job = make_defs(db_url).resolve_job_def("integrity_checks_job")
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with engine.connect() as locker:
            locker.execute(text("LOCK TABLE leads IN ACCESS EXCLUSIVE MODE"))
            locked.set()
            release.wait(30)
            locker.rollback()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        config = {"config": {"statement_timeout_ms": 300}}
        ops = ("leads_stuck_leads", "campaigns_stats_drift", "de_enrollment_runs_duplicate_de_enrollments")
        result = job.execute_in_process(
            instance=instance,
            tags={checks.CLIENT_TAG: a},
            run_config={"ops": dict.fromkeys(ops, config)},
        )
    finally:
        release.set()
        holder.join()
    found = evaluations(result)
    assert len(found) == 3
    for evaluation in found.values():  # every check reads leads: each one times out and says so
        assert (evaluation.passed, evaluation.severity) == (False, dg.AssetCheckSeverity.ERROR)
        assert "canceling statement due to statement timeout" in str(value(evaluation, "error"))


def test_thresholds_come_from_run_config_and_bad_config_is_one_clear_error(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    a, _ = two_clients(conn)
    instance.add_dynamic_partitions("clients", [a])
    job = make_defs(db_url).resolve_job_def("integrity_checks_job")

    strict = {"ops": {"leads_stuck_leads": {"config": {"warn_above": 50, "error_above": 100, "sample_size": 3}}}}
    stuck = evaluations(job.execute_in_process(instance=instance, tags={checks.CLIENT_TAG: a}, run_config=strict))[
        "stuck_leads"
    ]
    assert (stuck.passed, stuck.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert len(value(stuck, "stuck_leads_sample").splitlines()) == 2 + 3

    wrong = {"ops": {"leads_stuck_leads": {"config": {"warn_above": 600, "error_above": 500}}}}
    failed = job.execute_in_process(
        instance=instance, tags={checks.CLIENT_TAG: a}, run_config=wrong, raise_on_error=False
    )
    assert not failed.success
    assert "stuck_leads" not in evaluations(failed)  # no verdict on bad input
    (failure,) = [e for e in failed.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "warn_above <= error_above" in str(failure.step_failure_data.user_failure_data.description)

    malformed = job.execute_in_process(instance=instance, tags={checks.CLIENT_TAG: "not-a-uuid"}, raise_on_error=False)
    assert not malformed.success and evaluations(malformed) == {}
    messages = [
        str(e.step_failure_data.user_failure_data.description) for e in malformed.all_events if e.is_step_failure
    ]
    assert len(messages) == 3 and all("'not-a-uuid' is not a uuid" in m for m in messages)


def test_one_tick_passes_over_every_run_that_de_enrolled_nothing(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    """Runs that de-enrolled nothing end all the time (the 5-minute checks, the due sensor's runs): the after-run
    sensor passes over all of them in one tick and asks for the checks after the sweep that ended behind them."""
    a, b = two_clients(conn)
    instance.add_dynamic_partitions("clients", [a, b])
    defs = make_defs(db_url)
    sensor = defs.resolve_sensor_def(checks.integrity_checks_after_de_enrollment_sensor.name)

    def tick(cursor: str | None) -> dg.SensorResult:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        data = sensor.evaluate_tick(context)
        return dg.SensorResult(run_requests=data.run_requests, cursor=data.cursor)

    start = tick(None)  # the sensor's first tick only sets its cursor at the newest event
    for _ in range(3):
        assert defs.resolve_job_def("schema_contract_job").execute_in_process(instance=instance).success
    sweep = defs.resolve_job_def(de_enrollment_job.name).execute_in_process(
        instance=instance, tags={RANGE_START_TAG: a, RANGE_END_TAG: b}
    )
    assert sweep.success

    after = tick(start.cursor)
    assert [r.run_key for r in after.run_requests or []] == [f"integrity_checks_after:{sweep.run_id}"]
    assert [r.run_key for r in tick(after.cursor).run_requests or []] == []  # and each run once


def checks_decision_after_a_sweep(
    instance: dg.DagsterInstance, db_url: str, run_config: dict | None = None, tags: dict[str, str] | None = None
) -> dg.RunRequest | dg.SkipReason:
    """Run the sweep job (a due run with the due sensor's config and tag), then what the after-run sensor decides."""
    defs = dg.Definitions(jobs=[de_enrollment_sweep_job], resources={"database": DatabaseResource(url=db_url)})
    sweep = defs.resolve_job_def(de_enrollment_sweep_job.name).execute_in_process(
        instance=instance, run_config=run_config, tags=tags
    )
    assert sweep.success
    run = instance.get_run_by_id(sweep.run_id)
    assert run is not None
    return checks.integrity_checks_after(run, instance)


def test_a_sweep_asks_the_checks_when_it_de_enrolled_leads_and_not_when_it_de_enrolled_none(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    """Most quarter-hour sweeps find nothing due (the due sensor keeps up): a run of checks after each would be
    a run worker every 15 minutes for nothing; the hourly run covers what other writers did."""
    two_clients(conn)  # Alpha's 101 leads are at the end of their sequence: due

    def decision_after_a_sweep() -> dg.RunRequest | dg.SkipReason:
        return checks_decision_after_a_sweep(instance, db_url)

    first = decision_after_a_sweep()
    assert isinstance(first, dg.RunRequest) and checks.CLIENT_TAG not in first.tags
    second = decision_after_a_sweep()
    assert isinstance(second, dg.SkipReason) and "de-enrolled no lead" in (second.skip_message or "")
    assert conn.execute(text("SELECT count(*) FROM leads WHERE is_active")).scalar_one() == 10


def test_a_sweep_that_de_enrolled_nothing_but_materialized_first_passes_asks_the_checks(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    """Its materializations would leave the checks' results "Not evaluated" in the UI until the hourly run."""
    alpha, beta = two_clients(conn)

    def decision_after_a_sweep() -> dg.RunRequest | dg.SkipReason:
        return checks_decision_after_a_sweep(instance, db_url)

    decision_after_a_sweep()  # de-enrolls Alpha's due leads; no partitions yet, so no materialization
    assert clients_partitions.name is not None
    instance.add_dynamic_partitions(clients_partitions.name, [alpha, beta])  # the partition sync
    first_passes = decision_after_a_sweep()  # nothing due; both clients' first materializations
    assert isinstance(first_passes, dg.RunRequest)
    assert instance.get_materialized_partitions(LEADS) == {alpha, beta}
    quiet = decision_after_a_sweep()
    assert isinstance(quiet, dg.SkipReason) and "de-enrolled no lead" in (quiet.skip_message or "")


def test_a_due_run_asks_the_checks_only_when_it_materialized_a_new_clients_first_pass(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    """Due runs come seconds apart and are checked hourly, except one that materialized a client's first pass:
    the UI would read "Not evaluated" for the checks until the hourly run."""
    alpha, beta = two_clients(conn)  # Alpha's leads are due
    assert clients_partitions.name is not None
    instance.add_dynamic_partitions(clients_partitions.name, [alpha, beta])

    def decision_after_a_due_run(client: str) -> dg.RunRequest | dg.SkipReason:
        config = {"ops": {"de_enrollment_sweep": {"config": {"client_ids": [client]}}}}
        return checks_decision_after_a_sweep(instance, db_url, config, {SWEEP_TAG: DUE_CLIENTS})

    first_pass = decision_after_a_due_run(alpha)
    assert isinstance(first_pass, dg.RunRequest)
    assert instance.get_materialized_partitions(LEADS) == {alpha}
    add_leads(
        conn,
        alpha,
        conn.execute(text("SELECT id FROM campaigns WHERE client_id = :c"), {"c": alpha}).scalar_one(),
        count=2,
        position=3,
    )
    conn.commit()
    later = decision_after_a_due_run(alpha)  # de-enrolls the two new leads; Alpha was materialized before
    assert isinstance(later, dg.SkipReason) and "due leads" in (later.skip_message or "")
    assert instance.get_materialized_partitions(LEADS) == {alpha}


def test_checks_in_the_de_enrollment_job_are_skipped_so_a_sensor_runs_them_after(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    """Dagster skips a check step when its asset step yielded only AssetMaterialization events (what
    de-enrollment records, per client). The sensor then requests the integrity checks for the same clients."""
    a, b = two_clients(conn)
    instance.add_dynamic_partitions("clients", [a, b])
    defs = make_defs(db_url)
    sweep = defs.resolve_job_def(de_enrollment_job.name).execute_in_process(
        instance=instance, tags={RANGE_START_TAG: a, RANGE_END_TAG: b}
    )
    assert sweep.success
    assert evaluations(sweep) == {}
    skipped = {e.step_key for e in sweep.all_events if e.event_type_value == "STEP_SKIPPED"}
    assert "leads_stuck_leads" in skipped

    run = instance.get_run_by_id(sweep.run_id)
    assert run is not None
    (ended,) = [e for e in sweep.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS]
    context = dg.build_run_status_sensor_context(
        sensor_name=checks.integrity_checks_after_de_enrollment_sensor.name,
        dagster_event=ended,
        dagster_instance=instance,
        dagster_run=run,
    )
    request = checks.integrity_checks_after_de_enrollment_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == f"integrity_checks_after:{sweep.run_id}"
    assert checks.CLIENT_TAG not in request.tags  # a sweep: every active client

    after = defs.resolve_job_def("integrity_checks_job").execute_in_process(instance=instance, tags=request.tags)
    assert value(evaluations(after)["stuck_leads"], "stuck_leads") == 101

    one = defs.resolve_job_def(de_enrollment_job.name).execute_in_process(
        instance=instance, tags={checks.PARTITION_TAG: b}
    )
    one_run = instance.get_run_by_id(one.run_id)
    assert one_run is not None
    after = checks.integrity_checks_after(one_run, instance).tags
    assert after[CLIENT_ID_TAG] == b and after["campaign_ops/after_run"] == one.run_id

    other = defs.resolve_job_def("schema_contract_job").execute_in_process(instance=instance)
    other_run = instance.get_run_by_id(other.run_id)
    assert other_run is not None
    assert isinstance(checks.integrity_checks_after(other_run, instance), dg.SkipReason)
