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
