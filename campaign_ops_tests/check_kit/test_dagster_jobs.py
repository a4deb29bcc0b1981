"""A check's job and schedule: named after each other, on from the start, one run per tick."""

from datetime import UTC, datetime

import dagster as dg
import pytest

from campaign_ops.check_kit.dagster_jobs import check_job, check_schedule


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
