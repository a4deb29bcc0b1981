"""`campaign-ops pause` / `resume`: SOP Level 3's "stop processing immediately" (campaign_ops/pause.py)."""

import getpass
import os
from datetime import UTC, datetime

import click

from campaign_ops.cli.dev import dagster_environment


def _instance():  # type: ignore[no-untyped-def]
    import dagster as dg

    env = dagster_environment()
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DAGSTER_PG_URL", "DAGSTER_HOME")})
    return dg.DagsterInstance.get()


@click.command("pause")
@click.option("--reason", default="", help="Why (shown to whoever finds a run refused).")
def pause_command(reason: str) -> None:
    """Stop everything that writes lead or campaign data; alerts and checks keep running."""
    from campaign_ops.pause import pause_processing

    with _instance() as instance:
        report = pause_processing(instance, by=getpass.getuser(), reason=reason, now=datetime.now(UTC))
    click.echo("\n".join(report.lines(paused=True)))


@click.command("resume")
def resume_command() -> None:
    """Lift the pause: writing jobs run again and their schedules and sensors start."""
    from campaign_ops.pause import resume_processing

    with _instance() as instance:
        report = resume_processing(instance)
    click.echo("\n".join(report.lines(paused=False)))


commands: list[click.Command] = [pause_command, resume_command]
