"""A pass and its record. Each client's pass is one row of `de_enrollment_runs`, and this module runs every
statement that opens, closes or writes one, except the de-enrollment statements themselves, which add their figures
to the row in the same statement (the row then counts exactly what committed, whatever happens to the worker):

- `start_passes` opens the passes of the clients whose lock is free (start_passes.sql, for a group of clients or one
  client's own pass): stale `running` rows closed, what each pass examines counted, its `running` row written;
- `record_pass` closes a pass's row with its status, or writes the row closed when the pass never got one (not
  reached within the budget, its lock held, interrupted or failed before its start);
- `record_idle_passes` writes, set-based, the passes of clients with nothing due.

A pass is "the client was examined under its lock": the SOP's health queries (hours since the last success, success
rate) read these rows, so quiet clients get theirs too. `ClientResult` is a pass as its row records it, `SweepResult`
the sweep's sum.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Connection, Engine, Row
from sqlalchemy.exc import DBAPIError, OperationalError

from campaign_ops.db.engine import connect
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.sqlfiles import load_sql

Status = Literal["success", "partial", "failed", "skipped"]
# the order a run's table lists its clients in: what needs someone first
STATUS_ORDER: dict[str, int] = {"failed": 0, "partial": 1, "skipped": 2, "success": 3}


@dataclass
class ClientResult:
    """One client's pass, as recorded in de_enrollment_runs."""

    client_id: str
    client_name: str
    status: Status
    run_row_id: str | None = None
    leads_evaluated: int = 0
    leads_de_enrolled: int = 0
    completed: int = 0
    opted_out: int = 0
    booked: int = 0
    leads_skipped: int = 0
    already_de_enrolled: int = 0  # of leads_skipped: due again, enrollment already de-enrolled (`skipped` rows)
    chunks: int = 0
    duration_ms: int = 0
    error_details: str | None = None
    connection_lost: bool = False
    paused: bool = False  # the database refused its next chunk: processing was paused
    lock_held: bool = False  # skipped: another session held its lock even after the sweep's retry


@dataclass
class SweepResult:
    clients: list[ClientResult] = field(default_factory=list)
    duration_ms: int = 0
    # set when the database connection was lost: the one line that names it; the sweep stopped there
    connection_lost: str | None = None
    not_reached: list[str] = field(default_factory=list)  # client ids left untried after a connection loss or pause
    # set when processing was paused during the sweep: the line that says so; the sweep stopped there
    paused: str | None = None

    def with_status(self, *statuses: Status) -> list[ClientResult]:
        return [c for c in self.clients if c.status in statuses]

    @property
    def failed(self) -> list[ClientResult]:
        return self.with_status("failed")

    @property
    def locked_out(self) -> list[ClientResult]:
        """Clients with due leads left undone: another session held their lock until the end of the sweep."""
        return [c for c in self.clients if c.lock_held]

    @property
    def leads_de_enrolled(self) -> int:
        return sum(c.leads_de_enrolled for c in self.clients)


ProgressCallback = Callable[[ClientResult], None]
LogCallback = Callable[[str], None]


def describe(r: ClientResult) -> str:
    text_ = (
        f"client {r.client_name or r.client_id} ({r.client_id}): {r.status}, {r.leads_de_enrolled} de-enrolled "
        f"of {r.leads_evaluated} evaluated (completed {r.completed}, opted out {r.opted_out}, booked {r.booked}) "
        f"in {r.duration_ms} ms"
    )
    if r.leads_skipped:
        text_ += f", {r.leads_skipped} leads skipped"
    if r.already_de_enrolled:
        text_ += f" ({r.already_de_enrolled} already de-enrolled from this enrollment: see resolve-skipped)"
    if r.error_details:
        text_ += f" — {r.error_details}"
    return text_


def _note(result: ClientResult, note: str) -> None:
    result.error_details = f"{result.error_details}; {note}" if result.error_details else note


def mark_partial(result: ClientResult, settings: DeEnrollmentSettings) -> None:
    result.status = "partial"
    _note(result, f"runtime budget ({settings.max_runtime_ms} ms) exhausted; the rest goes first next run")


def mark_paused(result: ClientResult, refusal: str) -> None:
    """Stopped at a chunk boundary by a pause: what committed stays, the rest waits for `resume`."""
    result.status = "partial"
    result.paused = True
    _note(result, f"paused: {refusal}")


def mark_interrupted(result: ClientResult, exc: BaseException) -> None:
    # what committed stays committed: with some progress the pass is partial, else failed
    result.status = "partial" if result.leads_de_enrolled > 0 else "failed"
    _note(result, f"interrupted ({type(exc).__name__}) after {result.chunks} committed chunk(s)")


def is_connection_loss(exc: BaseException) -> bool:
    """The database went away (not a statement's error): nothing more can be done in this sweep."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        code = getattr(exc.orig, "pgcode", None)
        if isinstance(exc, OperationalError) and code is None:
            return True  # libpq's own errors (server closed the connection, could not connect) carry no SQLSTATE
        return isinstance(code, str) and (code.startswith("08") or code in ("57P01", "57P02", "57P03"))
    return False


def start_passes(
    conn: Connection, client_ids: Sequence[str], settings: DeEnrollmentSettings, dagster_run_id: str | None
) -> list[Row]:
    """In the caller's transaction: the `running` rows of those clients whose lock is free, in the given order
    (client_id, run_row_id, leads_evaluated, leads_skipped, error_details)."""
    return list(
        conn.execute(
            load_sql(__file__, "start_passes.sql"),
            {"client_ids": list(client_ids), "batch_size": settings.batch_size, "dagster_run_id": dagster_run_id},
        ).all()
    )


def record_pass(
    conn: Connection, result: ClientResult, settings: DeEnrollmentSettings, dagster_run_id: str | None
) -> ClientResult:
    """Close the pass's row (or write it closed when it has none), in its own transaction; the committed counts the
    row holds (written chunk by chunk) become the result's."""
    statement = "finish_pass.sql" if result.run_row_id else "record_unstarted_pass.sql"
    with conn.begin():
        row = conn.execute(
            load_sql(__file__, statement),
            {
                "run_id": result.run_row_id,
                "client_id": result.client_id,
                "status": result.status,
                "batch_size": settings.batch_size,
                "dagster_run_id": dagster_run_id,
                "duration_ms": result.duration_ms,
                "error_details": result.error_details,
            },
        ).one_or_none()
    if row is not None:
        result.run_row_id, result.leads_evaluated, result.leads_de_enrolled, result.leads_skipped = row
    return result


def record_idle_passes(
    engine: Engine,
    client_ids: Sequence[str],
    names: dict[str, str],
    settings: DeEnrollmentSettings,
    dagster_run_id: str | None,
) -> list[tuple[ClientResult, bool]]:
    """(result, became_due) per client of one batch of clients the triage found with nothing due, in one statement
    (record_idle_passes.sql): under each client's lock, still nothing due, its pass is written `success` with its
    true counts, or `skipped` when its lock is held; a client that became due since is returned unrecorded, for a
    full pass."""
    out: list[tuple[ClientResult, bool]] = []
    with connect(engine) as conn, conn.begin():
        rows = conn.execute(
            load_sql(__file__, "record_idle_passes.sql"),
            {"client_ids": list(client_ids), "batch_size": settings.batch_size, "dagster_run_id": dagster_run_id},
        ).all()
    for row in rows:
        name = names.get(row.client_id, "")
        if not row.recorded:
            out.append((ClientResult(client_id=row.client_id, client_name=name, status="success"), True))
            continue
        result = ClientResult(
            client_id=row.client_id,
            client_name=name,
            status=row.status,
            run_row_id=row.run_row_id,
            leads_evaluated=row.leads_evaluated,
            leads_skipped=row.leads_skipped,
            duration_ms=row.duration_ms,
            error_details=row.error_details,
        )
        out.append((result, False))
    return out
