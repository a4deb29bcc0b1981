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
    from campaign_ops.clients.tags import PARTITION_TAG
    from campaign_ops.pause import set_pause, switch_writing_automations, writing_runs_in_flight

    with _instance() as instance:
        state = set_pause(instance, by=getpass.getuser(), at=datetime.now(UTC), reason=reason)
        switched = switch_writing_automations(instance, running=False)
        in_flight = writing_runs_in_flight(instance)
    for s in switched:
        click.echo(f"{s.kind} {s.name}: {'stopped' if s.was_running else 'already stopped'}")
    click.echo(f"{state.line()}; new runs of writing jobs are refused until `campaign-ops resume`")
    if in_flight:
        click.echo(f"{len(in_flight)} writing run(s) still in flight (a pause does not end them):")
        for run in in_flight:
            click.echo(f"  {run.run_id} {run.job_name} {run.status.value} {run.tags.get(PARTITION_TAG, '')}")
    else:
        click.echo("no writing run in flight")


@click.command("resume")
def resume_command() -> None:
    """Lift the pause: writing jobs run again and their schedules and sensors start."""
    from campaign_ops.pause import clear_pause, pause_state, switch_writing_automations

    with _instance() as instance:
        was = pause_state(instance)
        clear_pause(instance)
        switched = switch_writing_automations(instance, running=True)
    for s in switched:
        click.echo(f"{s.kind} {s.name}: {'already running' if s.was_running else 'started'}")
    click.echo(f"resumed ({was.line()})" if was else "was not paused; writing schedules and sensors are running")


commands: list[click.Command] = [pause_command, resume_command]
