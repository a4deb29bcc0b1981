"""Run retention in Dagster: a daily job deleting finished runs older than `older_than_days` (on by default), and
the check sensors' evaluations as old, so the instance database stays bounded."""

import datetime as dt

import dagster as dg
from pydantic import Field

from campaign_ops.clients.runs import tick_run_key
from campaign_ops.retention.core import DEFAULT_RETENTION_DAYS, prune_runs


class PruneRunsConfig(dg.Config):
    older_than_days: int = Field(
        default=DEFAULT_RETENTION_DAYS, description="Finished runs created longer ago than this are deleted."
    )


@dg.op(name="prune_old_runs", description="Deletes finished runs older than the retention, with their events.")
def prune_old_runs(context: dg.OpExecutionContext, config: PruneRunsConfig) -> dg.Output[None]:
    try:
        result = prune_runs(context.instance, older_than_days=config.older_than_days, now=dt.datetime.now(dt.UTC))
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    context.log.info(result.summary())
    return dg.Output(
        None,
        metadata={
            "runs_deleted": result.runs,
            "runless_check_evaluations_deleted": result.runless_evaluations,
            "cutoff": result.cutoff.isoformat(),
        },
    )


@dg.job(name="prune_runs_job", executor_def=dg.in_process_executor, description=prune_old_runs.description)
def prune_runs_job() -> None:
    prune_old_runs()


@dg.schedule(
    name="prune_runs_schedule",
    cron_schedule="40 3 * * *",
    job=prune_runs_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day: run retention (finished runs older than the retention are deleted).",
)
def prune_runs_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=tick_run_key(context, "prune_runs"))


defs = dg.Definitions(jobs=[prune_runs_job], schedules=[prune_runs_schedule])
