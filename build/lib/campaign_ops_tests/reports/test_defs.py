"""The report assets materialized by their jobs in real runs, and their schedules' ticks."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import Connection

from campaign_ops.reports import defs as reports
from campaign_ops.reports.core import daily_health_report, weekly_review_report
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.reports.test_core import build_week


def make_defs(url: str) -> dg.Definitions:
    return dg.Definitions.merge(reports.defs, dg.Definitions(resources={"database": DatabaseResource(url=url)}))


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def materialization(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetMaterialization:
    (mat,) = result.asset_materializations_for_node(name)
    return mat


def test_daily_report_asset_carries_the_reports_figures_and_tables(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    build_week(conn)
    result = make_defs(db_url).resolve_job_def("daily_health_report_job").execute_in_process(instance=instance)
    metadata = materialization(result, "daily_health_report").metadata
    expected = daily_health_report(conn)
    for key, figure in expected.figures().items():
        assert metadata[key].value == figure, key
    assert metadata["total_runs"].value == 22 and metadata["stuck_leads"].value == 17
    assert isinstance(metadata["success_rate_pct"], dg.FloatMetadataValue)
    assert isinstance(metadata["failed_runs"], dg.IntMetadataValue)
    for table in ("overnight_runs", "alerts", "stuck_leads_table", "expected_results"):
        assert isinstance(metadata[table], dg.MarkdownMetadataValue), table
    assert metadata["overnight_runs"].value == expected.tables()["overnight_runs"]
    assert metadata["alerts"].value == expected.tables()["alerts"]
    assert metadata["expected_results"].value == expected.tables()["expected_results"]
    # each table once: no entry repeating them all
    assert "report" not in metadata
    assert sum(expected.tables()["overnight_runs"] in str(v.value) for v in metadata.values()) == 1
    assert instance.get_latest_materialization_event(dg.AssetKey("daily_health_report")) is not None


def test_weekly_report_asset(conn: Connection, db_url: str, instance: dg.DagsterInstance) -> None:
    build_week(conn)
    result = make_defs(db_url).resolve_job_def("weekly_review_report_job").execute_in_process(instance=instance)
    metadata = materialization(result, "weekly_review_report").metadata
    expected = weekly_review_report(conn)
    assert {k: metadata[k].value for k in expected.figures()} == expected.figures()
    assert metadata["runs_7d"].value == 32
    assert metadata["per_day"].value == expected.tables()["per_day"]
    assert metadata["top_errors"].value == expected.tables()["top_errors"]
    assert "de_enrollment_lead_log" in metadata["table_sizes"].value


def test_a_report_on_an_unreachable_database_fails_with_one_clear_line(instance: dg.DagsterInstance) -> None:
    defs = make_defs("postgresql://postgres:s3cr3t-pw@127.0.0.1:1/campaign_ops")
    result = defs.resolve_job_def("daily_health_report_job").execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    assert result.asset_materializations_for_node("daily_health_report") == []
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("report could not be built: cannot connect to PostgreSQL at")
    assert "s3cr3t-pw" not in description


@pytest.mark.parametrize(
    ("schedule", "tick", "run_key"),
    [
        (
            reports.daily_health_report_schedule,
            datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
            "daily_health_report:2026-03-03T09:00:00+00:00",
        ),
        (
            reports.weekly_review_report_schedule,
            datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
            "weekly_review_report:2026-03-02T10:00:00+00:00",
        ),
    ],
)
def test_report_schedules(
    schedule: dg.ScheduleDefinition, tick: datetime, run_key: str, instance: dg.DagsterInstance
) -> None:
    request = schedule(dg.build_schedule_context(instance, scheduled_execution_time=tick))
    assert isinstance(request, dg.RunRequest) and request.run_key == run_key
    assert {s.name: s.cron_schedule for s in reports.defs.schedules} == {
        "daily_health_report_schedule": "0 9 * * *",  # every day, 9 AM
        "weekly_review_report_schedule": "0 10 * * 1",  # Monday, 10 AM
    }
