"""Compliance in Dagster: the checks that a revocation is honored and nothing is sent after it.

- `messages_after_opt_out` on `leads` (ERROR): messages recorded as sent after an opt-out (by
  sql/objects/compliance_record_send_after_revocation.sql)
  or a de-enrollment in the last day, naming the clients and the leads;
- `unhonored_opt_outs` on `leads`: the oldest opt-out still not honored, WARN past 5 minutes, ERROR past 1 hour.
Both are evaluated every 5 minutes by `compliance_checks_sensor` in its tick, without a run, as the other 5-minute
checks are (check_kit), and go through the one alert pipeline (asset_check_alert_sensor: CHECK_FAILED per client).
`monthly_compliance_report`: per client and calendar month, opt-outs honored, time to honor, sends after revocation.
"""

from datetime import date, timedelta

import dagster as dg
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops import thresholds as sop
from campaign_ops.assets import DE_ENROLLMENT_RUNS, LEADS
from campaign_ops.check_kit.dagster_jobs import check_job, check_sensor
from campaign_ops.check_kit.dagster_result import run_check
from campaign_ops.check_kit.snapshot import DEFAULT_STATEMENT_TIMEOUT_MS, read_only_snapshot
from campaign_ops.compliance.core import (
    UnhonoredThresholds,
    evaluate_messages_after_opt_out,
    evaluate_unhonored_opt_outs,
    monthly_compliance_report,
)
from campaign_ops.errors import CampaignOpsError, error_line
from campaign_ops.resources import DatabaseResource


class _ComplianceCheckConfig(dg.Config):
    statement_timeout_ms: int = Field(
        default=DEFAULT_STATEMENT_TIMEOUT_MS, description="A query running longer is cancelled: the check errors."
    )
    client_id: str | None = Field(
        default=None,
        description="Check only this client (its id); default: the run's campaign_ops/client tag, else every client.",
    )


class MessagesAfterOptOutConfig(_ComplianceCheckConfig):
    window_hours: int = Field(
        default=sop.SENDS_AFTER_REVOCATION_WINDOW_HOURS,
        description="Fail while a message sent after revocation was recorded within this many hours.",
    )


class UnhonoredOptOutsConfig(_ComplianceCheckConfig):
    warn_above_seconds: float = Field(
        default=sop.UNHONORED_OPT_OUT_WARN_ABOVE_SECONDS, description="WARN when the oldest waits longer."
    )
    error_above_seconds: float = Field(
        default=sop.UNHONORED_OPT_OUT_ERROR_ABOVE_SECONDS, description="ERROR when the oldest waits longer."
    )


@dg.asset_check(
    asset=LEADS,
    name="messages_after_opt_out",
    description="Messages sent after revocation (the platform advanced the position of a lead that had opted out "
    f"or was de-enrolled), recorded as they happen; ERROR while any was in the last "
    f"{sop.SENDS_AFTER_REVOCATION_WINDOW_HOURS} h, naming the clients and leads.",
)
def messages_after_opt_out_check(
    context: dg.AssetCheckExecutionContext, config: MessagesAfterOptOutConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(
        context,
        database,
        config.statement_timeout_ms,
        lambda c, s: evaluate_messages_after_opt_out(c, s, config.window_hours),
        client_id=config.client_id,
    )


@dg.asset_check(
    asset=LEADS,
    name="unhonored_opt_outs",
    description="The oldest opt-out still not honored (its lead still active), per client: WARN past "
    f"{sop.UNHONORED_OPT_OUT_WARN_ABOVE_SECONDS / 60:g} min, ERROR past "
    f"{sop.UNHONORED_OPT_OUT_ERROR_ABOVE_SECONDS / 3600:g} h.",
)
def unhonored_opt_outs_check(
    context: dg.AssetCheckExecutionContext, config: UnhonoredOptOutsConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    thresholds = UnhonoredThresholds(config.warn_above_seconds, config.error_above_seconds)
    return run_check(
        context,
        database,
        config.statement_timeout_ms,
        lambda c, s: evaluate_unhonored_opt_outs(c, s, thresholds),
        client_id=config.client_id,
    )


COMPLIANCE_CHECKS = [messages_after_opt_out_check, unhonored_opt_outs_check]
compliance_checks_job = check_job(
    "compliance_checks_job",
    COMPLIANCE_CHECKS,
    "Messages sent after revocation and the oldest opt-out not honored, over every client.",
)
# every 5 minutes, in the sensor's tick (as the alerting checks): a run worker's start would cost more than the
# two indexed queries
compliance_checks_sensor = check_sensor(
    compliance_checks_job,
    COMPLIANCE_CHECKS,
    300,
    "Every 5 minutes: messages sent after revocation (ERROR) and the oldest opt-out not honored (WARN past 5 "
    "minutes, ERROR past 1 hour) over every client.",
)


# --- the monthly report ------------------------------------------------------------------------------------------

# the first month the report can be asked for (the evidence tables exist from sql/0045 on; earlier months read
# the lead logs alone)
months = dg.MonthlyPartitionsDefinition(start_date="2025-01-01")


@dg.asset(
    name="monthly_compliance_report",
    group_name="reports",
    partitions_def=months,
    # every client's partition of the lead and run data feeds each month
    deps=[dg.AssetDep(k, partition_mapping=dg.AllPartitionMapping()) for k in (LEADS, DE_ENROLLMENT_RUNS)],
    kinds={"postgres"},
    description="Per client, one calendar month (UTC): opt-outs honored, the person's other enrollments revoked "
    "with them, p50/p95/max time to honor, messages sent after revocation (live and archived evidence).",
)
def monthly_compliance_report_asset(
    context: dg.AssetExecutionContext, database: DatabaseResource
) -> dg.MaterializeResult:
    month = date.fromisoformat(context.partition_key)
    try:
        with database.connect() as conn, read_only_snapshot(conn):
            report = monthly_compliance_report(conn, month)
    except (CampaignOpsError, SQLAlchemyError) as exc:
        raise dg.Failure(description=f"report could not be built: {error_line(exc)}") from None
    context.log.info(report.markdown())
    tables = {name: dg.MetadataValue.md(table) for name, table in report.tables().items()}
    return dg.MaterializeResult(metadata={**report.figures(), **tables})


monthly_compliance_report_job = dg.define_asset_job(
    "monthly_compliance_report_job",
    selection=dg.AssetSelection.assets(monthly_compliance_report_asset),
    executor_def=dg.in_process_executor,
    description="The month's compliance report per client.",
)


@dg.schedule(
    job=monthly_compliance_report_job,
    cron_schedule="0 5 1 * *",
    name="monthly_compliance_report_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The 1st of each month, 05:00 UTC (after the 02:00 archival: it reads live and archive): the month "
    "that just ended.",
)
def monthly_compliance_report_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    ended = context.scheduled_execution_time.date().replace(day=1) - timedelta(days=1)
    month = ended.replace(day=1).isoformat()
    return dg.RunRequest(run_key=f"monthly_compliance_report:{month}", partition_key=month)


defs = dg.Definitions(
    assets=[monthly_compliance_report_asset],
    asset_checks=COMPLIANCE_CHECKS,
    jobs=[compliance_checks_job, monthly_compliance_report_job],
    schedules=[monthly_compliance_report_schedule],
    sensors=[compliance_checks_sensor],
)
