"""Run retention: open-source Dagster keeps every run, its events and its check rows for ever (it has tick
retention only), so the instance database grows with every sweep. This deletes finished runs older than a cutoff
with everything Dagster stores for them, and the check evaluations older than the cutoff that the check sensors
recorded without a run (nothing else would ever delete them); the `prune_runs_job` (daily) and
`campaign-ops dev prune-runs` share it.
"""

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads the default without paying for importing Dagster
    import dagster as dg

DEFAULT_RETENTION_DAYS = 90


@dataclass(frozen=True)
class PruneResult:
    runs: int
    cutoff: dt.datetime
    runless_evaluations: int
    """Check evaluations recorded without a run (by the check sensors) before the cutoff."""

    def summary(self, dry_run: bool = False) -> str:
        verb = "would delete" if dry_run else "deleted"
        return (
            f"{verb} {self.runs} finished run(s) and {self.runless_evaluations} check evaluation(s) recorded "
            f"without a run, created before {self.cutoff:%Y-%m-%d %H:%M} UTC"
        )


def prune_runs(
    instance: "dg.DagsterInstance", *, older_than_days: int, now: dt.datetime, dry_run: bool = False, batch: int = 500
) -> PruneResult:
    """Delete (or with dry_run count) the finished runs created before now - older_than_days: each run, its
    event log and its asset-check rows (`delete_run` leaves those behind)."""
    if not isinstance(older_than_days, int) or older_than_days < 1:
        raise ValueError(f"older_than_days must be at least 1, got {older_than_days!r}")
    import dagster as dg

    from campaign_ops.dagster_internals import delete_check_rows, prune_runless_check_evaluations

    cutoff = now - dt.timedelta(days=older_than_days)
    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
    filters = dg.RunsFilter(statuses=finished, created_before=cutoff)
    runless = prune_runless_check_evaluations(instance, cutoff, dry_run=dry_run)
    if dry_run:
        return PruneResult(instance.get_runs_count(filters), cutoff, runless)
    deleted = 0
    while True:
        records = instance.get_run_records(filters=filters, limit=batch, ascending=True)
        if not records:
            return PruneResult(deleted, cutoff, runless)
        run_ids = [r.dagster_run.run_id for r in records]
        delete_check_rows(instance, run_ids)
        for run_id in run_ids:
            instance.delete_run(run_id)
        deleted += len(run_ids)
