"""The queue of leads due for de-enrollment (sql/objects/de_enrollment_mark_due.sql), read and settled set-based.

A trigger on `leads` marks a lead in `de_enrollment_due_queue` when an INSERT or an UPDATE of the columns the rule
reads leaves it due (the rule's lead-side part is one SQL function, `de_enrollment_lead_due`), with the moment it
became due. So:
- `due_clients` answers "which clients have due work now" from the queue alone: its cost grows with the leads
  that became due since their last pass, not with all leads;
- `settle` runs after every de-enrollment pass (the sweep op calls it for the clients it covered): the rows of
  leads no longer due go, and each de-enrollment gets its lead's `due_since` in the lead log, which gives the
  latency per lead (`processed_at - due_since`); leads still due stay for the next pass, so none is lost;
- `latency` sums those up per client: for one run's output and for the latency check over the last hour;
- `backing_off` names the clients whose newest passes failed or were skipped (another session held the client's
  lock), left out of the sensor's runs for a delay that doubles with each such pass in a row (1, 2, 4, 8, then 15
  minutes), so a client failing for a reason in its data, or locked by a long session, is not relaunched every
  few seconds; the others' runs go on, and the 15-minute schedule still tries it.

What the queue cannot see, the 15-minute sweep still finds: a lead that became due because its campaign lost
messages (no lead row changed), or a client re-activated after its leads became due.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, text

from campaign_ops.sqlfiles import load_sql

DUE_CLIENTS = "due_clients"  # the sweep tag's value on runs the due sensor launches (clients/tags.py)
BACKOFF_FIRST_MINUTES = 1.0  # after one failed pass
BACKOFF_MAX_MINUTES = 15.0  # the schedule's interval: past it, the schedule's sweep tries the client anyway


@dataclass(frozen=True)
class DueClient:
    client_id: str
    due: int
    oldest_due_since: datetime


@dataclass(frozen=True)
class Settled:
    examined: int  # queue rows of the clients looked at
    recorded: int  # de-enrollments that got their due_since
    settled: int  # rows removed (no longer due, or waiting for an operator)


@dataclass(frozen=True)
class Backoff:
    """A client left out of the due sensor's runs until `until` after `failures` passes in a row that failed or
    were skipped (`skipped` of them: another session held the client's lock)."""

    client_id: str
    failures: int
    until: datetime
    skipped: int = 0

    def passes_text(self) -> str:
        failed = self.failures - self.skipped
        if not self.skipped:
            return f"{failed} failed pass(es)"
        held = f"{self.skipped} skipped pass(es) (its lock held by another session)"
        return held if not failed else f"{failed} failed and {held}"


@dataclass(frozen=True)
class LatencyFigures:
    """Seconds from "became due" to de-enrolled over `leads` de-enrollments."""

    leads: int
    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True)
class LatencyReport:
    overall: LatencyFigures | None
    per_client: dict[str, LatencyFigures] = field(default_factory=dict)


def due_clients(conn: Connection) -> list[DueClient]:
    """Active clients with leads due now, oldest due first."""
    return [
        DueClient(r.client_id, int(r.due), r.oldest_due_since)
        for r in conn.execute(load_sql(__file__, "due_clients.sql"))
    ]


def backing_off(
    conn: Connection,
    client_ids: Sequence[str],
    now: datetime | None = None,
    first_minutes: float = BACKOFF_FIRST_MINUTES,
    max_minutes: float = BACKOFF_MAX_MINUTES,
) -> list[Backoff]:
    """Those of `client_ids` still backing off at `now` (the database's now() when None), soonest retried first:
    their newest passes failed or were skipped (running ones passed over), and the delay since the newest failure,
    `first_minutes` doubled per further failure up to `max_minutes`, has not run out."""
    if not client_ids:
        return []
    # the failures in a row worth reading: past this many the delay is capped anyway
    max_streak = 1 + max(0, math.ceil(math.log2(max_minutes / first_minutes)))
    rows = conn.execute(
        load_sql(__file__, "backoff.sql"),
        {
            "client_ids": list(client_ids),
            "now": now,
            "first_minutes": first_minutes,
            "max_minutes": max_minutes,
            "max_streak": max_streak,
        },
    )
    return [Backoff(r.client_id, int(r.failures), r.until, int(r.skipped)) for r in rows]


def settle(conn: Connection, client_ids: Sequence[str] | None) -> Settled:
    """Settle the queue rows of these clients (all rows when None) in the connection's transaction; the caller
    commits. Safe beside the platform's writes and another settle (see settle_due_queue.sql)."""
    row = conn.execute(
        load_sql(__file__, "settle_due_queue.sql"), {"client_ids": None if client_ids is None else list(client_ids)}
    ).one()
    return Settled(int(row.examined), int(row.recorded), int(row.settled))


def database_now(conn: Connection, minus_seconds: float = 0) -> datetime:
    """The database's clock (the one processed_at and due_since are written with), minus some seconds."""
    value = conn.execute(text("SELECT now() - make_interval(secs => :s)"), {"s": minus_seconds}).scalar_one()
    assert isinstance(value, datetime)
    return value


def latency(conn: Connection, since: datetime, dagster_run_id: str | None = None) -> LatencyReport:
    """Due -> de-enrolled of the de-enrollments since `since` (of one Dagster run when given)."""
    overall: LatencyFigures | None = None
    per_client: dict[str, LatencyFigures] = {}
    for r in conn.execute(load_sql(__file__, "latency.sql"), {"since": since, "dagster_run_id": dagster_run_id}):
        if not r.leads:  # the overall row of nothing
            continue
        figures = LatencyFigures(int(r.leads), float(r.p50), float(r.p95), float(r.p99), float(r.max))
        if r.client_id is None:
            overall = figures
        else:
            per_client[r.client_id] = figures
    return LatencyReport(overall, per_client)
