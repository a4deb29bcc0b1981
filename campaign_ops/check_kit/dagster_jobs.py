"""A check's job and its schedule, one shape for every check in the project.

A check job runs only its checks, in process: each run is one to three small steps, and a step subprocess costs
more than the queries. A check schedule is on from the start, is named after its job (`<x>_job` runs on
`<x>_schedule`), and asks one run per tick: the run key names the tick, so a tick evaluated twice launches once.
"""

from collections.abc import Sequence

import dagster as dg

# what define_asset_job returns; Dagster 1.13 does not export its type publicly
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from campaign_ops.clients.runs import tick_run_key

JOB_SUFFIX = "_job"


def check_job(name: str, checks: Sequence[dg.AssetChecksDefinition], description: str) -> UnresolvedAssetJobDefinition:
    """The job that runs exactly `checks`, in process."""
    return dg.define_asset_job(
        name,
        selection=dg.AssetSelection.checks(*checks),
        executor_def=dg.in_process_executor,
        description=description,
    )


def check_schedule(
    job: UnresolvedAssetJobDefinition,
    cron: str,
    description: str | None = None,
    *,
    run_key_prefix: str | None = None,
) -> dg.ScheduleDefinition:
    """`job` on `cron`, running by default; the run key is `<run_key_prefix>:<tick>`, the prefix defaulting
    to the job's name without `_job`."""
    if not job.name.endswith(JOB_SUFFIX):
        raise ValueError(f"a check job's name ends in {JOB_SUFFIX}: {job.name}")
    stem = job.name.removesuffix(JOB_SUFFIX)
    prefix = run_key_prefix or stem

    @dg.schedule(
        job=job,
        cron_schedule=cron,
        name=f"{stem}_schedule",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_key=tick_run_key(context, prefix))

    return _schedule
