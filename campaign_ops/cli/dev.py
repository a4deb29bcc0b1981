"""`campaign-ops dev`: the database and the Dagster UI, with the right environment."""

import os
import subprocess
from pathlib import Path

import click

from campaign_ops.db.embedded import PROJECT_ROOT, home_dir
from campaign_ops.db.engine import APP_DATABASE, DAGSTER_DATABASE, ensure_database, resolve_database_url
from campaign_ops.db.urls import mask_url, with_database


def dagster_environment() -> dict[str, str]:
    """Environment for Dagster processes: app database, instance storage on the same server, DAGSTER_HOME."""
    app_url = resolve_database_url(APP_DATABASE)
    dagster_url = os.environ.get("DAGSTER_PG_URL") or with_database(app_url, DAGSTER_DATABASE)
    if not os.environ.get("DAGSTER_PG_URL"):
        ensure_database(with_database(app_url, "postgres"), DAGSTER_DATABASE)
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home_dir() / "dagster_home")
    dagster_home.mkdir(parents=True, exist_ok=True)
    link = dagster_home / "dagster.yaml"
    if not link.exists():
        link.symlink_to(PROJECT_ROOT / "dagster.yaml")
    return {
        **os.environ,
        "DATABASE_URL": app_url,
        "DAGSTER_PG_URL": dagster_url,
        "DAGSTER_HOME": str(dagster_home),
    }


@click.command("dev")
@click.option("--port", default=3000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def dev_command(port: int, host: str) -> None:
    """Start the database and `dagster dev` (UI on http://127.0.0.1:3000)."""
    env = dagster_environment()
    click.echo(f"database: {mask_url(env['DATABASE_URL'])}")
    click.echo(f"Dagster UI: http://{host}:{port}")
    cmd = ["dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", host, "-p", str(port)]
    try:
        raise SystemExit(subprocess.call(cmd, env=env, cwd=PROJECT_ROOT))
    except KeyboardInterrupt:
        raise SystemExit(0) from None


@click.command("run-job")
@click.argument("job_name")
@click.option("--client-id", help="One client partition; default: one run over all client partitions.")
def run_job_command(job_name: str, client_id: str | None) -> None:
    """Run a partitioned job as a real Dagster run on the project's instance (it shows in the UI)."""
    import dagster as dg

    from campaign_ops.clients.core import active_client_ids, partition_changes, require_active_clients
    from campaign_ops.db.engine import connect, make_engine
    from campaign_ops.definitions import defs
    from campaign_ops.partitions import clients_partitions
    from campaign_ops.sweeps import RANGE_END_TAG, RANGE_START_TAG

    env = dagster_environment()
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DAGSTER_PG_URL", "DAGSTER_HOME")})
    engine = make_engine(env["DATABASE_URL"], pooled=False)
    with connect(engine) as conn:
        active = active_client_ids(conn)
        if client_id:
            client_id = require_active_clients(conn, [client_id])[0]
    engine.dispose()
    try:
        job = defs.resolve_job_def(job_name)
    except dg.DagsterInvariantViolationError:
        raise click.BadParameter(f"no job named {job_name!r}") from None
    with dg.DagsterInstance.get() as instance:
        # the same sync the clients_partition_sync_sensor does, so the run does not wait for the daemon
        name = clients_partitions.name
        assert name is not None
        changes = partition_changes(instance.get_dynamic_partitions(name), active)
        if changes.to_add:
            instance.add_dynamic_partitions(name, changes.to_add)
        for key in changes.to_remove:
            instance.delete_dynamic_partition(name, key)
        keys = instance.get_dynamic_partitions(name)
        if not keys:
            raise click.ClickException("no active clients: nothing to run")
        if client_id:
            result = job.execute_in_process(instance=instance, partition_key=client_id, raise_on_error=False)
        else:
            tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
            result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    scope = f"client {client_id}" if client_id else f"{len(keys)} client partitions"
    click.echo(f"{job_name} over {scope}: {'SUCCESS' if result.success else 'FAILURE'} (run {result.run_id})")
    click.echo(f"see it at http://127.0.0.1:3000/runs/{result.run_id} once `make dev` runs")
    if not result.success:
        raise SystemExit(1)
