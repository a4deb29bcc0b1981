"""What the alert sensors read from the database: clients' failed/partial passes (client names come from
campaign_ops.clients.partition_keys).

(The SOP's health lines are not read here: the asset checks detect them, campaign_ops.alerts.check_alerts.)

Plain functions over a connection returning small dataclasses; the queries are the .sql files beside this one.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from campaign_ops.sqlfiles import load_sql


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


def client_pass_problems(conn: Connection, dagster_run_ids: Sequence[str]) -> dict[str, list[ClientPassProblem]]:
    """Partial/failed client passes recorded by the given Dagster runs, by run id."""
    if not dagster_run_ids:
        return {}
    result: dict[str, list[ClientPassProblem]] = {}
    rows = conn.execute(load_sql(__file__, "run_client_problems.sql"), {"run_ids": list(dagster_run_ids)}).mappings()
    for row in rows:
        result.setdefault(row["dagster_run_id"], []).append(ClientPassProblem(**row))
    return result
