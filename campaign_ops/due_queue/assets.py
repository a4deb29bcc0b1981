"""What a de-enrollment sweep run records about due -> de-enrolled latency (imported by the sweep op, so it holds
no reference back to de-enrollment's Dagster objects)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.check_kit.markdown import UI_TABLE_ROWS, markdown_table
from campaign_ops.due_queue.core import LatencyFigures, LatencyReport, database_now, latency, settle
from campaign_ops.errors import DatabaseUnavailableError
from campaign_ops.resources import DatabaseResource
from campaign_ops.source_links import code_of

de_enrollment_latency_asset = dg.AssetSpec(
    "de_enrollment_latency",
    group_name="campaign_data",
    description="Seconds from a lead becoming due (opted out, booked, last message) to its de-enrollment, per "
    "lead in the lead log (due_since); each de-enrollment run that settled some records the figures (overall as "
    "plotted numbers, per client as a table and JSON, and each client's p95 as its own plotted number "
    "`latency_p95_s · <client> · <id prefix>`, present in the runs that de-enrolled some of its leads).",
    kinds={"postgres"},
    metadata=code_of(latency),
)


def client_p95_key(client_id: str, name: str) -> str:
    """The metadata key of one client's p95: the same key in every run, so the UI plots it as the client's series
    (named for people, with the id's first 8 characters in case two clients share a name)."""
    return f"latency_p95_s · {name} · {client_id[:8]}"


def figures_metadata(figures: LatencyFigures, prefix: str = "latency_") -> dict[str, Any]:
    return {
        f"{prefix}leads": figures.leads,
        f"{prefix}p50_s": round(figures.p50, 2),
        f"{prefix}p95_s": round(figures.p95, 2),
        f"{prefix}p99_s": round(figures.p99, 2),
        f"{prefix}max_s": round(figures.max, 2),
    }


def report_metadata(report: LatencyReport, names: dict[str, str] | None = None) -> dict[str, Any]:
    """Overall figures as numbers (the UI plots them), every client's in JSON, the slowest in a table, and each
    client's p95 as a number of its own (plotted per client). One materialization whatever the clients: its keys
    are those of the clients this run de-enrolled leads of, none for quiet clients, and no event per client."""
    if report.overall is None:
        return {}
    names = names or {}
    slowest = sorted(report.per_client.items(), key=lambda kv: -kv[1].p95)
    rows = [
        (names.get(c, "?"), c, f.leads, round(f.p50, 1), round(f.p95, 1), round(f.max, 1))
        for c, f in slowest[:UI_TABLE_ROWS]
    ]
    return {
        **figures_metadata(report.overall),
        "latency_clients": len(report.per_client),
        "latency_per_client": dg.MetadataValue.json(
            {c: {"leads": f.leads, "p50_s": f.p50, "p95_s": f.p95, "max_s": f.max} for c, f in slowest}
        ),
        "latency_slowest_clients": dg.MetadataValue.md(
            markdown_table(("client", "id", "leads", "p50 s", "p95 s", "max s"), rows)
        ),
        **{client_p95_key(c, names.get(c, "?")): round(f.p95, 2) for c, f in sorted(report.per_client.items())},
    }


@dataclass(frozen=True)
class AfterPass:
    # for the run's output: the settled count and the overall figures (empty when nothing was settled); the
    # per-client figures are on the materialization only, so a sweep at 1,000 clients stores them once
    metadata: dict[str, Any]
    materialization: dg.AssetMaterialization | None


def start_time(database: DatabaseResource) -> datetime:
    """The database's now() before the passes: the run's de-enrollments are processed after it."""
    with database.connect() as conn:
        return database_now(conn)


def settle_after_pass(
    database: DatabaseResource,
    client_ids: Sequence[str] | None,
    dagster_run_id: str,
    since: datetime,
    warn: Callable[[str], None],
    names: dict[str, str] | None = None,
) -> AfterPass:
    """Settle the queue for the clients a run covered (None: every client), then its latency figures. Never
    fails the run: what is not settled now is settled by the next pass (and the queue keeps every due lead)."""
    try:
        with database.connect() as conn:
            with conn.begin():
                settled = settle(conn, client_ids)
            report = latency(conn, since, dagster_run_id)
    except (DatabaseUnavailableError, SQLAlchemyError) as exc:
        warn(f"due-lead queue not settled this time (the next pass settles it): {str(exc).splitlines()[0]}")
        return AfterPass({}, None)
    settled_count = {"due_queue_settled": settled.settled}
    if report.overall is None:  # nothing de-enrolled: nothing to plot
        return AfterPass(settled_count, None)
    materialization = dg.AssetMaterialization(
        asset_key=de_enrollment_latency_asset.key, metadata={**settled_count, **report_metadata(report, names)}
    )
    return AfterPass({**settled_count, **figures_metadata(report.overall)}, materialization)
