"""`campaign-ops pause` / `resume`: SOP Level 3's "stop processing immediately" (campaign_ops/pause.py)."""

import getpass
from datetime import UTC, datetime

import click

from campaign_ops.service.environment import dagster_environment, use_dagster_environment


def _instance():  # type: ignore[no-untyped-def]
    import dagster as dg

    env = dagster_environment()
    use_dagster_environment(env)
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
