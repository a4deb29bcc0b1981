"""A check's job and its schedule or sensor: named after each other, on from the start; a schedule asks one run
per tick, a sensor evaluates the checks in its tick within Dagster's time limit."""

from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import Connection, text

from campaign_ops.check_kit.dagster_jobs import SENSOR_CHECKS_BUDGET_MS, check_job, check_schedule, check_sensor
from campaign_ops.check_kit.dagster_result import run_check
from campaign_ops.check_kit.outcome import CheckOutcome
from campaign_ops.checks.defs import SchemaContractConfig, schema_contract_check
from campaign_ops.resources import DatabaseResource


@dg.asset_check(asset="some_asset", name="some_check")
def some_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_the_schedule_is_named_after_its_job_runs_by_default_and_keys_runs_by_tick() -> None:
    job = check_job("some_check_job", [some_check], "Some check.")
    schedule = check_schedule(job, "*/5 * * * *", "Every 5 minutes.")
    assert (schedule.name, schedule.job_name, schedule.cron_schedule) == (
        "some_check_schedule",
        "some_check_job",
        "*/5 * * * *",
    )
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    tick = datetime(2026, 1, 2, 3, 5, tzinfo=UTC)
    request = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick)).run_requests
    assert request is not None and [r.run_key for r in request] == [f"some_check:{tick.isoformat()}"]
    kept = check_schedule(job, "*/5 * * * *", run_key_prefix="older_prefix")
    request = kept.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick)).run_requests
    assert request is not None and [r.run_key for r in request] == [f"older_prefix:{tick.isoformat()}"]


def test_a_job_not_named_as_a_job_is_refused() -> None:
    with pytest.raises(ValueError, match="ends in _job"):
        check_schedule(check_job("some_check", [some_check], "Some check."), "*/5 * * * *")


class SlowCheckConfig(dg.Config):
    statement_timeout_ms: int = 60_000


def test_the_checks_of_a_sensor_tick_share_its_time_and_a_slow_one_is_an_error_evaluation(
    db_url: str, conn: Connection
) -> None:
    """Dagster gives a sensor's tick 60 s: the checks of a tick share a budget of statement time, so a query that
    would run longer is an ERROR evaluation saying so (which alerts), and the other checks are still evaluated."""
    timeouts: list[str] = []

    def sleeps_past_its_timeout(conn_: Connection, _scope: list[str] | None) -> CheckOutcome:
        timeouts.append(conn_.execute(text("SHOW statement_timeout")).scalar_one())
        conn_.execute(text("SELECT pg_sleep(:s)"), {"s": SENSOR_CHECKS_BUDGET_MS / 1000 / 2})
        raise AssertionError("pg_sleep returned")

    @dg.asset_check(asset="leads", name="slow_check")
    def slow_check(
        context: dg.AssetCheckExecutionContext, config: SlowCheckConfig, database: DatabaseResource
    ) -> dg.AssetCheckResult:
        return run_check(context, database, config.statement_timeout_ms, sleeps_past_its_timeout)

    assert "statement_timeout_ms" in SchemaContractConfig.model_fields
    both = [slow_check, schema_contract_check]
    sensor = check_sensor(check_job("slow_and_schema_job", both, "Test."), both, 300, "Test.")
    assert (sensor.name, sensor.minimum_interval_seconds) == ("slow_and_schema_sensor", 300)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    data = sensor.evaluate_tick(dg.build_sensor_context(resources={"database": DatabaseResource(url=db_url)}))

    assert timeouts == [f"{SENSOR_CHECKS_BUDGET_MS // 2 // 1000}s"]  # its share of the budget, not its 60 s
    by_name = {e.check_name: e for e in data.asset_events if isinstance(e, dg.AssetCheckEvaluation)}
    slow = by_name["slow_check"]
    assert (slow.passed, slow.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert "canceling statement due to statement timeout" in (slow.description or "")
    assert by_name["schema_contract"].passed
    assert not data.run_requests
    assert data.skip_message == "evaluated without a run: slow_check failed (ERROR), schema_contract passed"
