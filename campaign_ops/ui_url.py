"""Where the Dagster UI is: the base of every link into it (alert messages, check descriptions, the CLI's output)
and, by default, where the service's webserver listens (`campaign-ops dev`)."""

import os

UI_URL_ENV_VAR = "DAGSTER_UI_URL"
DEFAULT_UI_HOST = "127.0.0.1"
DEFAULT_UI_PORT = 3000
DEFAULT_UI_URL = f"http://{DEFAULT_UI_HOST}:{DEFAULT_UI_PORT}"


def dagster_ui_url(explicit: str | None = None) -> str:
    """Base URL of the Dagster UI for links (`explicit`, else DAGSTER_UI_URL, else the `campaign-ops dev` one)."""
    return (explicit or os.environ.get(UI_URL_ENV_VAR, "").strip() or DEFAULT_UI_URL).rstrip("/")
