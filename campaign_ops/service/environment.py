"""The environment every Dagster process of the service runs with, and the check that its databases answer.

Used by `campaign-ops dev` (the supervisor's children), `dev env` (exports for Dagster's own `dg`), `run-job`,
`pause`/`resume` and `dev prune-runs`: one place decides which app database and which instance database a Dagster
process of this project sees.
"""

import os
from collections.abc import Mapping
from pathlib import Path

from campaign_ops.db.embedded import home_dir
from campaign_ops.db.engine import (
    APP_DATABASE,
    DAGSTER_DATABASE,
    connect,
    disposing_engine,
    ensure_database,
    resolve_database_url,
)
from campaign_ops.db.urls import mask_url, normalise_url, same_database, with_database
from campaign_ops.errors import CampaignOpsError, ConfigError
from campaign_ops.sqlfiles import load_sql

# the Dagster instance's settings, shipped in the package (DAGSTER_HOME/dagster.yaml links here: link_instance_yaml)
INSTANCE_YAML = Path(__file__).with_name("dagster.yaml")
# what a Dagster process needs beyond the caller's environment (`dev env` prints these)
DAGSTER_VARIABLES = ("DATABASE_URL", "DAGSTER_PG_URL", "DAGSTER_HOME")


def dagster_environment() -> dict[str, str]:
    """Environment for Dagster processes: app database, instance storage on the same server, DAGSTER_HOME."""
    app_url = resolve_database_url(APP_DATABASE)
    raw = os.environ.get("DAGSTER_PG_URL")
    if raw is None:
        dagster_url = with_database(app_url, DAGSTER_DATABASE)
        ensure_database(with_database(app_url, "postgres"), DAGSTER_DATABASE)
    elif not raw.strip():
        raise ConfigError(
            f"DAGSTER_PG_URL is set but empty; unset it to use database {DAGSTER_DATABASE!r} beside the app's"
        )
    else:
        dagster_url = normalise_url(raw, "DAGSTER_PG_URL")
        # Dagster would create its tables among the app's before anything noticed
        if same_database(dagster_url, app_url):
            raise ConfigError(
                f"DAGSTER_PG_URL names the app database ({mask_url(dagster_url)}); the Dagster instance needs "
                f"its own database, e.g. …/{DAGSTER_DATABASE} on the same server"
            )
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home_dir() / "dagster_home")
    dagster_home.mkdir(parents=True, exist_ok=True)
    link_instance_yaml(dagster_home)
    return {
        **os.environ,
        "DATABASE_URL": app_url,
        "DAGSTER_PG_URL": dagster_url,
        "DAGSTER_HOME": str(dagster_home),
    }


def link_instance_yaml(dagster_home: Path) -> None:
    """DAGSTER_HOME/dagster.yaml: a link to INSTANCE_YAML where there is none or the one there leads nowhere (the
    file it named has moved); an operator's own file there is kept."""
    link = dagster_home / "dagster.yaml"
    if link.exists():
        return
    # a new link beside it, renamed over the old one: processes starting at the same time never see none
    fresh = dagster_home / f".dagster.yaml.{os.getpid()}"
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(INSTANCE_YAML)
    fresh.replace(link)


def check_databases(env: Mapping[str, str]) -> None:
    """Both databases answer, or one clear DatabaseUnavailableError (no password in it) before anything starts."""
    for name in ("DATABASE_URL", "DAGSTER_PG_URL"):
        url = env.get(name)
        if not url:
            raise ConfigError(f"{name} is not set")
        try:
            with disposing_engine(url) as engine, connect(engine) as conn:
                conn.exec_driver_sql("SELECT 1")
        except CampaignOpsError as exc:
            raise type(exc)(f"{name}: {exc}") from None


# what the service's processes do in each database, as `check_privileges` checks it
PROCESS_NEEDS = {
    "DATABASE_URL": "the code server and the run workers read, write and delete the app's tables",
    "DAGSTER_PG_URL": (
        "the daemon, the webserver, the run workers and run retention read, write and delete the instance's tables"
    ),
}


def check_privileges(env: Mapping[str, str], names: tuple[str, ...] = tuple(PROCESS_NEEDS)) -> None:
    """The role of each database URL holds what the service's processes need there (not only a connection), or
    one clear ConfigError naming the variable, the role and what it lacks."""
    from sqlalchemy import text

    for name in names:
        url = env[name]
        try:
            with disposing_engine(url) as engine, connect(engine) as conn:
                role = conn.execute(text("SELECT current_user")).scalar_one()
                missing = conn.execute(load_sql(__file__, "missing_privileges.sql")).all()
        except CampaignOpsError as exc:
            raise type(exc)(f"{name}: {exc}") from None
        if missing:
            objects: dict[str, list[str]] = {}
            for privilege, obj in missing:
                objects.setdefault(privilege, []).append(obj)
            lacks = "; ".join(f"{privilege} on {_some(names_)}" for privilege, names_ in objects.items())
            raise ConfigError(f"{name} ({mask_url(url)}): role {role} lacks {lacks} ({PROCESS_NEEDS[name]})")


def _some(names: list[str], shown: int = 4) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def use_dagster_environment(env: Mapping[str, str]) -> None:
    """Make this process a Dagster process of the service (for `DagsterInstance.get()` here, in process)."""
    os.environ.update({k: env[k] for k in DAGSTER_VARIABLES})
