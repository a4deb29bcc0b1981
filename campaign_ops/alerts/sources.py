"""What the alert sensors read from the database: how each client of a run fared (client names come from
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


@dataclass(frozen=True)
class RunPasses:
    """How the clients of one Dagster run fared: its partial/failed passes, the clients whose pass succeeded and
    those it skipped."""

    problems: tuple[ClientPassProblem, ...] = ()
    succeeded: frozenset[str] = frozenset()
    skipped: frozenset[str] = frozenset()


def run_client_passes(conn: Connection, dagster_run_ids: Sequence[str]) -> dict[str, RunPasses]:
    """The client passes recorded by the given Dagster runs, by run id (a client with a partial or failed pass in a
    run does not count as succeeded in it)."""
    if not dagster_run_ids:
        return {}
    problems: dict[str, list[ClientPassProblem]] = {}
    clients: dict[tuple[str, str], set[str]] = {}  # (run id, status) -> client ids
    rows = conn.execute(load_sql(__file__, "run_client_passes.sql"), {"run_ids": list(dagster_run_ids)}).mappings()
    for row in rows:
        if row["status"] in ("success", "skipped"):
            clients.setdefault((row["dagster_run_id"], row["status"]), set()).add(row["client_id"])
        else:
            problems.setdefault(row["dagster_run_id"], []).append(ClientPassProblem(**row))
    result: dict[str, RunPasses] = {}
    for run_id in set(problems) | {run_id for run_id, _ in clients}:
        troubled = {p.client_id for p in problems.get(run_id, ())}
        result[run_id] = RunPasses(
            tuple(problems.get(run_id, ())),
            frozenset(clients.get((run_id, "success"), set()) - troubled),
            frozenset(clients.get((run_id, "skipped"), set()) - troubled),
        )
    return result


def open_alert_keys(conn: Connection, alert_types: Sequence[str]) -> set[tuple[str, str]]:
    """(alert type, key) of the open alerts of these types: a sweep's success speaks for a thousand clients, and
    only the few with an open alert have anything to resolve."""
    rows = conn.execute(load_sql(__file__, "open_alert_keys.sql"), {"alert_types": list(alert_types)})
    return {(r.alert_type, r.alert_key) for r in rows}
