"""What the alert sensors read from the database: health breaches, stuck leads, clients' failed/partial passes.

Plain functions over a connection returning small dataclasses; the queries are the .sql files beside this one.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from campaign_ops.clients import partition_keys
from campaign_ops.sqlfiles import load_sql


@dataclass(frozen=True)
class NoRecentSuccess:
    client_id: str
    company_name: str
    last_success_at: datetime | None
    last_run_at: datetime | None
    hours_since_success: float
    total_runs_24h: int
    failed_runs_24h: int
    partial_runs_24h: int


@dataclass(frozen=True)
class ClientStuckLeads:
    client_id: str
    company_name: str
    stuck: int


@dataclass(frozen=True)
class ClientPassProblem:
    """A client pass of a Dagster run that ended 'partial' or 'failed' (de_enrollment_runs)."""

    dagster_run_id: str
    client_id: str
    company_name: str | None
    status: str
    error_details: str | None
    leads_evaluated: int
    leads_de_enrolled: int


def clients_without_recent_success(conn: Connection, max_hours: float) -> list[NoRecentSuccess]:
    """From the de_enrollment_health view: active clients with no successful run for more than `max_hours`."""
    rows = conn.execute(load_sql(__file__, "no_recent_success.sql"), {"max_hours": max_hours}).mappings()
    return [
        NoRecentSuccess(**{**r, "hours_since_success": float(r["hours_since_success"] or 0.0)})  # numeric → float
        for r in rows
    ]


def stuck_leads_by_client(conn: Connection) -> list[ClientStuckLeads]:
    """Stuck leads of active clients, most first (one set-based query)."""
    return [ClientStuckLeads(**r) for r in conn.execute(load_sql(__file__, "stuck_leads_by_client.sql")).mappings()]


def client_pass_problems(conn: Connection, dagster_run_ids: Sequence[str]) -> dict[str, list[ClientPassProblem]]:
    """Partial/failed client passes recorded by the given Dagster runs, by run id."""
    if not dagster_run_ids:
        return {}
    result: dict[str, list[ClientPassProblem]] = {}
    rows = conn.execute(load_sql(__file__, "run_client_problems.sql"), {"run_ids": list(dagster_run_ids)}).mappings()
    for row in rows:
        result.setdefault(row["dagster_run_id"], []).append(ClientPassProblem(**row))
    return result


def client_names(conn: Connection, client_ids: Sequence[str]) -> dict[str, str]:
    """Company names of the given client uuids (unknown ids are left out)."""
    return partition_keys.client_names(conn, client_ids)
