"""`campaign-ops pause` / `resume`: SOP Level 3's "stop processing immediately" (campaign_ops/pause/)."""

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from campaign_ops.db.engine import disposing_connection
from campaign_ops.errors import CampaignOpsError
from campaign_ops.service.environment import check_databases, dagster_environment, use_dagster_environment


@contextmanager
def _instance(env: dict[str, str]) -> Iterator[Any]:
    import dagster as dg

    use_dagster_environment(env)
    with dg.DagsterInstance.get() as instance:
        yield instance


@click.command("pause")
@click.option("--reason", default="", help="Why (shown to whoever finds a write refused).")
def pause_command(reason: str) -> None:
    """Stop everything that writes lead or campaign data, at once; alerts and checks keep running."""
    from campaign_ops.pause.defs import pause_processing

    env = dagster_environment()
    by = getpass.getuser()
    with disposing_connection(env["DATABASE_URL"]) as conn:
        try:
            # the instance database first, fast: Dagster's own storage retries for many seconds
            check_databases({"DAGSTER_PG_URL": env["DAGSTER_PG_URL"], "DATABASE_URL": env["DATABASE_URL"]})
        except CampaignOpsError as exc:
            # the pause in the application database is what stops every write: record it anyway
            report = pause_processing(conn, None, by=by, reason=reason)
            click.echo("\n".join(report.lines(paused=True)))
            raise CampaignOpsError(
                f"paused in the application database (every write is refused), but the writing schedules and "
                f"sensors were not stopped: {exc}; run `campaign-ops pause` again once it answers"
            ) from None
        with _instance(env) as instance:
            report = pause_processing(conn, instance, by=by, reason=reason)
    click.echo("\n".join(report.lines(paused=True)))
    if report.writers is not None and report.writers.still_writing:
        raise SystemExit(2)


@click.command("resume")
def resume_command() -> None:
    """Lift the pause: writes are allowed and the schedules and sensors the pause stopped start again."""
    from campaign_ops.pause.defs import resume_processing

    env = dagster_environment()
    # both databases answer, or nothing changes: a resume that could not start what the pause stopped would
    # leave them off silently
    check_databases(env)
    with disposing_connection(env["DATABASE_URL"]) as conn, _instance(env) as instance:
        report = resume_processing(conn, instance, by=getpass.getuser())
    click.echo("\n".join(report.lines(paused=False)))
