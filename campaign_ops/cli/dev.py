"""`campaign-ops dev` (the Dagster service on this machine, campaign_ops/service/) and `campaign-ops run-job`."""

import datetime as dt
import os
import time
import warnings
from pathlib import Path
from typing import Any

import click

from campaign_ops.cli.clients import accepts_client_names
from campaign_ops.cli.types import MAX_DAYS, NON_BLANK, positive_int
from campaign_ops.db.engine import connect, disposing_engine
from campaign_ops.db.urls import mask_url
from campaign_ops.errors import ConfigError
from campaign_ops.retention.core import DEFAULT_RETENTION_DAYS
from campaign_ops.service.environment import (
    DAGSTER_VARIABLES,
    check_databases,
    check_privileges,
    dagster_environment,
    use_dagster_environment,
)
from campaign_ops.service.supervisor import (
    DagsterServices,
    ServiceError,
    ServicePorts,
    stop_signals_as_interrupt,
)
from campaign_ops.ui_url import CODE_LOCATION

DEFAULT_PORTS = ServicePorts()


@click.group("dev", invoke_without_command=True)
@click.option("--port", default=DEFAULT_PORTS.webserver, show_default=True, help="Webserver (UI) port.")
@click.option(
    "--code-server-port", default=DEFAULT_PORTS.code_server, show_default=True, help="Code location gRPC port."
)
@click.option("--host", default=DEFAULT_PORTS.host, show_default=True)
@click.option("--log-dir", type=click.Path(path_type=Path), help="Write each service's output to a file here.")
@click.pass_context
def dev_command(ctx: click.Context, port: int, code_server_port: int, host: str, log_dir: Path | None) -> None:
    """Run the code server, daemon and webserver (UI on http://127.0.0.1:3000) until Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    env = dagster_environment()
    check_databases(env)
    ports = ServicePorts(webserver=port, code_server=code_server_port, host=host)
    click.echo(f"database: {mask_url(env['DATABASE_URL'])}")
    click.echo(f"instance: {mask_url(env['DAGSTER_PG_URL'])} (DAGSTER_HOME={env['DAGSTER_HOME']})")
    services = DagsterServices(env, ports, log_dir=log_dir)
    exit_code = 0
    with stop_signals_as_interrupt():
        try:
            services.start()
            click.echo(f"code server: {host}:{code_server_port}; daemon running; Dagster UI: {ports.webserver_url}")
            click.echo("Ctrl-C stops all three.")
            while True:
                for restarted in services.restart_exited():
                    click.echo(f"restarted {restarted}", err=True)
                time.sleep(1)
        except KeyboardInterrupt:
            click.echo("stopping the webserver, daemon and code server ...")
        except ServiceError as exc:
            click.echo(f"error: {exc}", err=True)
            exit_code = 1
        finally:
            killed = services.stop()
    if killed:
        click.echo(f"killed after {services.stop_timeout_seconds:.0f} s: pids {killed}")
    click.echo("stopped")
    raise SystemExit(exit_code)


@dev_command.command("check")
def check_command() -> None:
    """Check that the app database and the Dagster instance database answer and that their roles may do what the
    service's processes do there: read, write and delete the app's and the instance's tables."""
    env = dagster_environment()
    check_databases(env)
    check_privileges(env)
    click.echo(f"database: {mask_url(env['DATABASE_URL'])}: ok")
    click.echo(f"instance: {mask_url(env['DAGSTER_PG_URL'])}: ok")


@dev_command.command("env")
def env_command() -> None:
    """Print `export` lines for what Dagster's own tools (dg dev, dg launch, dg list defs, dg check defs) need:
    DATABASE_URL, DAGSTER_PG_URL and DAGSTER_HOME as `campaign-ops dev` sets them. Use: eval "$(campaign-ops dev env)".

    Only variables not already set are printed; a URL with a password is never printed (export it yourself)."""
    import shlex

    from sqlalchemy.engine import make_url

    env = dagster_environment()
    for name in DAGSTER_VARIABLES:
        if name in os.environ:
            continue
        if name != "DAGSTER_HOME" and make_url(env[name]).password:
            raise ConfigError(f"{name} would carry a password, which is never printed: export {name} yourself")
        click.echo(f"export {name}={shlex.quote(env[name])}")


@dev_command.command("prune-runs")
@click.option("--older-than-days", type=positive_int(MAX_DAYS), default=DEFAULT_RETENTION_DAYS, show_default=True)
@click.option("--dry-run", is_flag=True, help="Count the runs that would be deleted; delete nothing.")
def prune_runs_command(older_than_days: int, dry_run: bool) -> None:
    """Delete finished Dagster runs (their event logs and check rows), and check evaluations recorded without a
    run, older than N days: the instance's run retention, as the daily prune_runs_job does."""
    import dagster as dg

    from campaign_ops.retention.core import prune_runs

    if older_than_days < 1:
        raise ConfigError(f"--older-than-days must be at least 1, got {older_than_days}")
    env = dagster_environment()
    check_databases(env)
    # deleting runs needs DELETE on the instance's tables: refused in one line, before anything is deleted
    check_privileges(env, ("DAGSTER_PG_URL",))
    use_dagster_environment(env)
    with dg.DagsterInstance.get() as instance:
        result = prune_runs(instance, older_than_days=older_than_days, now=dt.datetime.now(dt.UTC), dry_run=dry_run)
    click.echo(result.summary(dry_run))


# the run's events stay in the instance (the UI shows them all); the terminal gets INFO and above
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


@click.command("run-job")
@click.argument("job_name")
@click.option(
    "--client-id",
    type=NON_BLANK,
    help="One client (its partition, the sweep's client_ids, or the checks' client); default: one run over all.",
)
@accepts_client_names
def run_job_command(job_name: str, client_id: str | None) -> None:
    """Run a partitioned job as a real Dagster run on the project's instance (it shows in the UI)."""
    from campaign_ops.clients.partition_keys import active_clients
    from campaign_ops.clients.scope import require_clients
    from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
    from campaign_ops.pause.core import refuse_if_paused

    # everything that can be refused is, in one line, before a run is created
    DeEnrollmentSettings.from_env()  # a bad DE_ENROLLMENT_* here, not as a failed run's stack trace
    env = dagster_environment()
    # an unreachable instance database is one line now, not Dagster's retries and their stack traces
    check_databases(env)
    with disposing_engine(env["DATABASE_URL"]) as engine, connect(engine) as conn:
        active = active_clients(conn)
        if client_id:
            client_id = require_clients(conn, [client_id])[0]
    use_dagster_environment(env)

    import dagster as dg

    with warnings.catch_warnings():
        # partitioned asset checks are a Dagster preview feature, used on purpose (the tests say why); an
        # operator's `run-job` need not be told on every call
        warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec")
        from campaign_ops.definitions import defs
    from campaign_ops.clients.partitions import sync_clients_partitions
    from campaign_ops.clients.runs import run_scope_tags
    from campaign_ops.dagster_internals import repository_label
    from campaign_ops.pause.defs import WRITES_TAG
    from campaign_ops.ui_url import dagster_ui_url

    try:
        job = defs.resolve_job_def(job_name)
    except dg.DagsterInvariantViolationError:
        raise click.BadParameter(f"no job named {job_name!r}") from None
    if job.tags.get(WRITES_TAG):  # one line, no run created (the run would only be refused)
        with disposing_engine(env["DATABASE_URL"]) as engine, connect(engine) as conn:
            refuse_if_paused(conn)
    run_config = {**QUIET, **(client_run_config(job, client_id) if client_id else {})}
    with dg.DagsterInstance.get() as instance:
        # the same sync the clients_partition_sync_sensor does, so the run does not wait for the daemon
        keys = sync_clients_partitions(instance, active)
        if not keys:
            raise click.ClickException("no active clients: nothing to run")
        # the job's Runs tab lists runs labelled with its repository and code location; a run executed here has
        # no remote origin, so it gets the label the webserver would have given it
        tags = repository_label(CODE_LOCATION) | run_scope_tags(job.partitions_def is not None, keys, client_id, active)
        result = job.execute_in_process(instance=instance, tags=tags, run_config=run_config, raise_on_error=False)
    scope = f"client {active.get(client_id or '', '')} ({client_id})" if client_id else f"{len(keys)} client partitions"
    click.echo(f"{job_name} over {scope}: {'SUCCESS' if result.success else 'FAILURE'} (run {result.run_id})")
    click.echo(f"see it at {dagster_ui_url()}/runs/{result.run_id} once `make dev` runs")
    if not result.success:
        raise SystemExit(1)


def client_run_config(job: Any, client_id: str) -> dict[str, Any]:
    """The run config that scopes an unpartitioned job to one client: the sweep's `client_ids`; a job whose ops
    take a `client_id` (the checks) reads the run's client tags. Any other job works on every client whatever it
    is told, so asking it for one client is refused (one line) rather than silently sweeping all of them."""
    from campaign_ops.de_enrollment.defs import SWEEP_JOB_NAME, SWEEP_OP_NAME

    if job.partitions_def is not None:
        return {}
    if job.name == SWEEP_JOB_NAME:
        return {"ops": {SWEEP_OP_NAME: {"config": {"client_ids": [client_id]}}}}
    for node in job.graph.node_defs:
        fields = getattr(node.config_schema.config_type, "fields", {}) if node.config_schema else {}
        if "client_id" in fields:
            return {}
    raise click.UsageError(f"{job.name} works on every client at once: --client-id/--client does not apply to it")
