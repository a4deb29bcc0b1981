"""Where operators find this project in Dagster: the UI's base URL (every link into it: alert messages, check
descriptions, the CLI's output; by default where `campaign-ops dev`'s webserver listens) and the code location's
name and module (every process that loads the definitions, and every `/locations/<name>/...` link)."""

import os

CODE_LOCATION = "campaign_ops"
DEFINITIONS_MODULE = "campaign_ops.definitions"
UI_URL_ENV_VAR = "DAGSTER_UI_URL"
DEFAULT_UI_HOST = "127.0.0.1"
DEFAULT_UI_PORT = 3000
DEFAULT_UI_URL = f"http://{DEFAULT_UI_HOST}:{DEFAULT_UI_PORT}"


def dagster_ui_url(explicit: str | None = None) -> str:
    """Base URL of the Dagster UI for links (`explicit`, else DAGSTER_UI_URL, else the `campaign-ops dev` one)."""
    return (explicit or os.environ.get(UI_URL_ENV_VAR, "").strip() or DEFAULT_UI_URL).rstrip("/")
