"""The SOP's operator reports as assets materialized on schedules.

`daily_health_report` (every day, 9 AM) and `weekly_review_report` (Monday, 10 AM) are unpartitioned: each is
one view over all clients, as the SOP's queries are. Their tables are markdown metadata (the UI shows them on
the asset's page), their key figures numeric metadata (the UI plots them across materializations). They depend
on the tables they read, so the lineage shows where their figures come from. Schedules run in UTC (Dagster's
default execution timezone).
"""

from typing import Any

import dagster as dg
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.assets import CAMPAIGNS, DE_ENROLLMENT_RUNS, LEADS
from campaign_ops.check_kit.snapshot import read_only_snapshot
from campaign_ops.clients.runs import tick_run_key
from campaign_ops.errors import CampaignOpsError, error_line
from campaign_ops.reports.core import daily_health_report, weekly_review_report
from campaign_ops.resources import DatabaseResource

GROUP = "reports"


def _metadata(figures: dict[str, int | float], tables: dict[str, str], markdown: str) -> dict[str, Any]:
    assert not set(figures) & set(tables), "a table would hide a figure of the same name"
    metadata: dict[str, Any] = dict(figures)
    metadata.update({name: dg.MetadataValue.md(table) for name, table in tables.items()})
    # the whole report is in the run's log; the metadata holds each table once (a "report" entry repeating
    # every table made each one appear twice on the asset page)
    return metadata


def _failure(exc: Exception) -> dg.Failure:
    return dg.Failure(description=f"report could not be built: {error_line(exc)}")


@dg.asset(
    name="daily_health_report",
    group_name=GROUP,
    deps=[DE_ENROLLMENT_RUNS, LEADS, CAMPAIGNS],
    kinds={"postgres"},
    description="SOP morning health check: overnight runs, alerts, stuck leads, against the expected results.",
)
def daily_health_report_asset(context: dg.AssetExecutionContext, database: DatabaseResource) -> dg.MaterializeResult:
    try:
        with database.connect() as conn, read_only_snapshot(conn):
            report = daily_health_report(conn)
    except (CampaignOpsError, SQLAlchemyError) as exc:
        raise _failure(exc) from None
    context.log.info(report.markdown())
    return dg.MaterializeResult(metadata=_metadata(report.figures(), report.tables(), report.markdown()))


@dg.asset(
    name="weekly_review_report",
    group_name=GROUP,
    deps=[DE_ENROLLMENT_RUNS],
    kinds={"postgres"},
    description="SOP weekly review: per-day performance, monitoring table sizes (10 GB line), top errors.",
)
def weekly_review_report_asset(context: dg.AssetExecutionContext, database: DatabaseResource) -> dg.MaterializeResult:
    try:
        with database.connect() as conn, read_only_snapshot(conn):
            report = weekly_review_report(conn)
    except (CampaignOpsError, SQLAlchemyError) as exc:
        raise _failure(exc) from None
    context.log.info(report.markdown())
    return dg.MaterializeResult(metadata=_metadata(report.figures(), report.tables(), report.markdown()))


daily_health_report_job = dg.define_asset_job(
    "daily_health_report_job",
    selection=dg.AssetSelection.assets(daily_health_report_asset),
    executor_def=dg.in_process_executor,
    description="The SOP's morning health check.",
)
weekly_review_report_job = dg.define_asset_job(
    "weekly_review_report_job",
    selection=dg.AssetSelection.assets(weekly_review_report_asset),
    executor_def=dg.in_process_executor,
    description="The SOP's weekly review.",
)


@dg.schedule(
    job=daily_health_report_job,
    cron_schedule="0 9 * * *",
    name="daily_health_report_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day, 9 AM (SOP).",
)
def daily_health_report_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=tick_run_key(context, "daily_health_report"))


@dg.schedule(
    job=weekly_review_report_job,
    cron_schedule="0 10 * * 1",
    name="weekly_review_report_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every Monday, 10 AM (SOP).",
)
def weekly_review_report_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=tick_run_key(context, "weekly_review_report"))


defs = dg.Definitions(
    assets=[daily_health_report_asset, weekly_review_report_asset],
    jobs=[daily_health_report_job, weekly_review_report_job],
    schedules=[daily_health_report_schedule, weekly_review_report_schedule],
)
