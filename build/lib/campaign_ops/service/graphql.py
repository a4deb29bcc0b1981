"""A minimal client of the Dagster webserver's GraphQL API: what the supervisor needs to see the code location
loaded, and what the end-to-end tests and the bench use to launch and watch runs."""

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


def graphql(
    base_url: str, query: str, variables: Mapping[str, object] | None = None, timeout_seconds: float = 30
) -> Any:
    """POST a GraphQL query to the webserver; returns `data`, raises ValueError on GraphQL errors."""
    body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
    request = urllib.request.Request(
        f"{base_url}/graphql", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ValueError(f"GraphQL HTTP {exc.code}: {exc.read()[:500]!r}") from None
    if payload.get("errors"):
        raise ValueError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]
