"""One client's own pass, and the run row that records it: the path a client takes alone (a one-client run, the
first client whose pace a sweep measures, or each client of a group that failed or ran out of budget, so that a
failing client is isolated and named).

1. takes the client's advisory lock (session level, on its own connection) or records `skipped` when another
   worker holds it — different clients never block each other;
2. records a `running` row (committed first, so a failure can be written on it);
3. de-enrolls in set-based chunks, one transaction each, so what is done is committed when the budget runs out
   (or, on the SOP's runbook path, in `process_de_enrollment_batch` batches);
4. closes the row: `success`, `partial` (budget exhausted) or `failed` (error_details). An interrupted pass
   (Terminate, run monitoring, SIGTERM, Ctrl-C: BaseExceptions) is closed `partial`/`failed` with reason
   `interrupted`, then the interruption goes on.

Each chunk's figures are added to the run row in the chunk's own transaction: the row counts what committed, and
chunks shrink to what the remaining budget allows at the pace measured so far (`Pace`).
"""

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from campaign_ops.clients.locks import release_client_lock
from campaign_ops.clients.sweep import error_text
from campaign_ops.compliance.core import revoke_person
from campaign_ops.db.engine import connect
from campaign_ops.de_enrollment.results import ClientResult, LogCallback
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.errors import error_line, is_paused_error
from campaign_ops.sqlfiles import load_sql

log = logging.getLogger(__name__)

# the first chunk of a sweep, before any pace is measured: small enough to commit within any sensible budget
FIRST_CHUNK_SIZE = 100
# a chunk is sized to use at most this share of the remaining budget at the measured pace
BUDGET_SHARE = 0.5
Clock = Callable[[], float]


@dataclass
class Pace:
    """Milliseconds per lead measured over this sweep's chunks (None until one committed)."""

    ms_per_lead: float | None = None

    def chunk_size(self, settings: DeEnrollmentSettings, remaining_ms: int) -> int:
        if self.ms_per_lead is None:
            return min(settings.chunk_size, FIRST_CHUNK_SIZE)
        fits = int(remaining_ms * BUDGET_SHARE / max(self.ms_per_lead, 1e-3))
        return max(1, min(settings.chunk_size, fits))

    def group_leads(self, settings: DeEnrollmentSettings, remaining_ms: int) -> int:
        """Due leads a group of clients may hold: what fits the budget at the measured pace (the first chunk's
        size until a pace is measured). Not capped by `chunk_size`, which bounds each client's part: every page of
        the leads table holds leads of many clients, so each group reads about the whole table (measured at 1M
        leads / 99 due clients: groups of 50,000 leads made 7 groups, whose start statements alone took 7.8 s)."""
        if self.ms_per_lead is None:
            return min(settings.chunk_size, FIRST_CHUNK_SIZE)
        return max(1, int(remaining_ms * BUDGET_SHARE / max(self.ms_per_lead, 1e-3)))

    def observe(self, leads: int, elapsed_ms: float) -> None:
        if leads > 0:
            measured = elapsed_ms / leads
            self.ms_per_lead = measured if self.ms_per_lead is None else max(measured, self.ms_per_lead * 0.5)


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


def start_run(
    conn: Connection, client_id: str, status: str, settings: DeEnrollmentSettings, dagster_run_id: str | None
) -> str:
    with conn.begin():
        return str(
            conn.execute(
                load_sql(__file__, "start_run.sql"),
                {
                    "client_id": client_id,
                    "status": status,
                    "batch_size": settings.batch_size,
                    "dagster_run_id": dagster_run_id,
                },
            ).scalar_one()
        )


def finish_run(conn: Connection, r: ClientResult) -> None:
    """Close the run row; the committed counts it holds (written chunk by chunk) become the result's."""
    with conn.begin():
        row = conn.execute(
            load_sql(__file__, "finish_run.sql"),
            {
                "run_id": r.run_row_id,
                "status": r.status,
                "duration_ms": r.duration_ms,
                "error_details": r.error_details,
            },
        ).one_or_none()
    if row is not None:
        r.leads_evaluated, r.leads_de_enrolled, r.leads_skipped = row


def record_not_reached(
    engine: Engine, client_id: str, name: str, settings: DeEnrollmentSettings, dagster_run_id: str | None
) -> ClientResult:
    result = ClientResult(
        client_id=client_id,
        client_name=name,
        status="partial",
        error_details=f"not reached within the runtime budget ({settings.max_runtime_ms} ms); goes first next run",
    )
    with connect(engine) as conn:
        result.run_row_id = start_run(conn, client_id, "running", settings, dagster_run_id)
        finish_run(conn, result)
    return result


class ClientLockHeld(Exception):
    """Another session holds the client's lock and the caller asked to retry later rather than record `skipped`."""


def _take_client_lock(conn: Connection, params: dict[str, str], wait_until: float | None, clock: Clock) -> bool:
    """The client's session lock, trying until `wait_until` (clock seconds; None: one try)."""
    while True:
        locked = bool(conn.execute(load_sql(__file__, "try_client_lock.sql"), params).scalar())
        conn.commit()
        if locked or wait_until is None or clock() >= wait_until:
            return locked
        time.sleep(0.1)


def lock_holder(conn: Connection, client_id: str) -> str:
    """Who holds the client's lock, for the `skipped` record: session pid, since when, what it is."""
    row = conn.execute(load_sql(__file__, "lock_holder.sql"), {"client_id": client_id}).one_or_none()
    conn.commit()
    if row is None:
        return "its lock is held"
    app = f", {row.application_name}" if row.application_name else ""
    since = row.since.astimezone(UTC)
    return f"its lock is held by session {row.pid} ({row.state}{app}) since {since:%Y-%m-%d %H:%M:%S} UTC"


def de_enroll_one_client(
    engine: Engine,
    client_id: str,
    name: str,
    settings: DeEnrollmentSettings,
    deadline: float,
    dagster_run_id: str | None,
    say: LogCallback,
    clock: Clock = time.monotonic,
    pace: "Pace | None" = None,
    lock_wait_until: float | None = None,
    defer_if_locked: bool = False,
) -> ClientResult:
    """One client's own pass (module doc). A held lock is waited for until `lock_wait_until` (clock seconds), then
    recorded `skipped` naming the session that holds it; with `defer_if_locked`, ClientLockHeld is raised at once
    instead (nothing recorded) so that the sweep retries the client after the others."""
    started = clock()
    result = ClientResult(client_id=client_id, client_name=name, status="success")
    params = {"client_id": client_id}
    pace = pace or Pace()
    try:
        with connect(engine) as conn:
            locked = _take_client_lock(conn, params, None if defer_if_locked else lock_wait_until, clock)
            if not locked:
                if defer_if_locked:
                    raise ClientLockHeld(client_id)
                result.status = "skipped"
                result.lock_held = True
                result.error_details = (
                    f"another session is working on this client ({lock_holder(conn, client_id)}); skipped, its due "
                    "leads are left for the next run"
                )
                result.run_row_id = start_run(conn, client_id, "running", settings, dagster_run_id)
                finish_run(conn, result)
                return result
            interrupted: BaseException | None = None
            lost: Exception | None = None
            try:
                result.run_row_id = start_run(conn, client_id, "running", settings, dagster_run_id)
                _run_client_pass(conn, result, settings, deadline, say, clock, pace)
            except Exception as exc:  # one client's failure must not stop the others
                if is_connection_loss(exc):
                    lost = exc
                elif is_paused_error(exc):  # processing was paused: its run row, if written, is closed partial
                    conn.rollback()
                    mark_paused(result, error_line(exc))
                else:
                    conn.rollback()
                    result.status = "failed"
                    result.error_details = error_text(exc)
            except BaseException as exc:  # Terminate, max runtime, SIGTERM, Ctrl-C: record it, then let it go on
                interrupted = exc
                mark_interrupted(result, exc)
                with contextlib.suppress(Exception):
                    conn.rollback()
            finally:
                result.duration_ms = int((clock() - started) * 1000)
                if interrupted is not None:
                    _record_interrupted(engine, conn, result, params)
                    raise interrupted
                if lost is not None:
                    raise lost  # recorded below on a new connection, if the server answers at all
                if result.run_row_id:
                    finish_run(conn, result)
                release_client_lock(conn, client_id)
                conn.commit()
    except ClientLockHeld:
        raise
    except Exception as exc:  # the connection itself broke: record on a new one if the server answers
        if is_paused_error(exc):  # its `skipped` row was refused: processing was paused, nothing recorded
            mark_paused(result, error_line(exc))
            result.duration_ms = int((clock() - started) * 1000)
            return result
        result.status = "failed"
        result.error_details = error_text(exc)
        result.connection_lost = is_connection_loss(exc)
        result.duration_ms = int((clock() - started) * 1000)
        try:
            with connect(engine) as conn:
                if result.run_row_id is None:
                    result.run_row_id = start_run(conn, client_id, "running", settings, dagster_run_id)
                finish_run(conn, result)
        except Exception:  # the database is down: the Dagster layer and CLI still report the failure
            log.warning("could not record the failed pass of client %s", client_id)
    return result


def mark_interrupted(result: ClientResult, exc: BaseException) -> None:
    # what committed stays committed: with some progress the pass is partial, else failed
    result.status = "partial" if result.leads_de_enrolled > 0 else "failed"
    note = f"interrupted ({type(exc).__name__}) after {result.chunks} committed chunk(s)"
    result.error_details = f"{result.error_details}; {note}" if result.error_details else note


def _record_interrupted(engine: Engine, conn: Connection, result: ClientResult, params: dict[str, str]) -> None:
    """Close the interrupted pass's row (on its connection, else on a new one) and release the client's lock."""
    if result.run_row_id is None:
        return
    try:
        finish_run(conn, result)
        release_client_lock(conn, result.client_id)
        conn.commit()
        return
    except Exception:
        conn.invalidate()  # a broken session also drops its advisory lock
    try:
        with connect(engine) as other:
            finish_run(other, result)
    except Exception:
        log.warning("could not record the interrupted pass of client %s", result.client_id)


def _run_client_pass(
    conn: Connection,
    result: ClientResult,
    settings: DeEnrollmentSettings,
    deadline: float,
    say: LogCallback,
    clock: Clock = time.monotonic,
    pace: "Pace | None" = None,
) -> None:
    pace = pace or Pace()
    params = {"client_id": result.client_id, "run_id": result.run_row_id}
    with conn.begin():
        conn.execute(load_sql(__file__, "abandon_stale_runs.sql"), params)
        evaluated = conn.execute(load_sql(__file__, "evaluate_client.sql"), params).one()
        conn.execute(
            load_sql(__file__, "record_evaluation.sql"),
            {**params, "leads_evaluated": evaluated.evaluated, "leads_skipped": evaluated.skipped},
        )
    result.leads_evaluated = evaluated.evaluated
    result.leads_skipped = evaluated.skipped
    if evaluated.skipped:
        result.error_details = (
            f"{evaluated.skipped} leads skipped: messages is not a JSON array in {evaluated.invalid_campaigns}"
        )
    step = _sop_batch if settings.mode == "batched" else _set_based_chunk
    last_id: list[str | None] = [None]
    while True:
        remaining_ms = int((deadline - clock()) * 1000)
        if remaining_ms <= 0:
            mark_partial(result, settings)
            return
        size = pace.chunk_size(settings, remaining_ms)
        before = (result.leads_de_enrolled, result.completed, result.opted_out, result.booked)
        chunk_started = clock()
        try:
            with conn.begin():
                # a statement may not outlive the budget: it is cancelled and its chunk rolls back
                conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(remaining_ms)})
                done, newly_skipped, more = step(conn, result, settings, last_id, size)
        except BaseException as exc:
            # nothing of this chunk committed: its figures are taken back
            result.leads_de_enrolled, result.completed, result.opted_out, result.booked = before
            if isinstance(exc, OperationalError) and getattr(exc.orig, "pgcode", None) == "57014":
                mark_partial(result, settings)  # query_canceled: the budget ran out mid-chunk
                return
            if is_paused_error(exc):  # the database refused this chunk: processing was paused
                mark_paused(result, error_line(exc))
                return
            raise
        result.chunks += 1
        result.leads_skipped += newly_skipped
        result.already_de_enrolled += newly_skipped
        pace.observe(done + newly_skipped, (clock() - chunk_started) * 1000)
        if done:
            say(
                f"client {result.client_name or result.client_id}: chunk {result.chunks}: "
                f"{done} de-enrolled ({result.leads_de_enrolled} so far)"
            )
        if not (more or (settings.mode == "set_based" and done + newly_skipped >= size)):
            return


def mark_paused(result: ClientResult, refusal: str) -> None:
    """Stopped at a chunk boundary by a pause: what committed stays, the rest waits for `resume`."""
    result.status = "partial"
    result.paused = True
    note = f"paused: {refusal}"
    result.error_details = f"{result.error_details}; {note}" if result.error_details else note


def settle_counters(conn: Connection, run_row_ids: Sequence[str | None]) -> int:
    """In the caller's transaction, after its de-enrollments: the counters of the campaigns they touched made to
    match their leads, each difference logged first (settle_counters.sql). Returns the campaigns corrected."""
    run_ids = [r for r in run_row_ids if r]
    campaigns = list(conn.execute(load_sql(__file__, "touched_campaigns.sql"), {"run_ids": run_ids}).scalars())
    if not campaigns:
        return 0
    return int(
        conn.execute(
            load_sql(__file__, "settle_counters.sql"),
            {"run_ids": run_ids, "campaign_ids": campaigns, "reconciliation_id": str(uuid.uuid4())},
        ).scalar_one()
    )


def mark_partial(result: ClientResult, settings: DeEnrollmentSettings) -> None:
    result.status = "partial"
    note = f"runtime budget ({settings.max_runtime_ms} ms) exhausted; the rest goes first next run"
    result.error_details = f"{result.error_details}; {note}" if result.error_details else note


def _add_counts(result: ClientResult, row: Sequence[int]) -> int:
    done, completed, opted_out, booked = row
    result.leads_de_enrolled += done
    result.completed += completed
    result.opted_out += opted_out
    result.booked += booked
    return int(done)


def _set_based_chunk(
    conn: Connection,
    result: ClientResult,
    settings: DeEnrollmentSettings,
    _last: list[str | None],
    size: int | None = None,
) -> tuple[int, int, bool]:
    """(de-enrolled, left alone as already de-enrolled, maybe more): one statement, which also adds the chunk's
    figures to the run row."""
    limit = size or settings.chunk_size
    revoke_person(conn, [result.client_id], [str(result.run_row_id)])
    row = conn.execute(
        load_sql(__file__, "de_enroll_chunk.sql"),
        {"client_id": result.client_id, "run_id": result.run_row_id, "chunk_size": limit},
    ).one()
    done = _add_counts(result, row[:4])
    if done:
        settle_counters(conn, [result.run_row_id])
    return done, int(row.already_de_enrolled), done + row.already_de_enrolled >= limit


def _sop_batch(
    conn: Connection,
    result: ClientResult,
    settings: DeEnrollmentSettings,
    last_id: list[str | None],
    size: int | None = None,
) -> tuple[int, int, bool]:
    """One SOP batch (get_leads_for_de_enrollment, process_de_enrollment_batch) and its figures added to the run
    row: (de-enrolled, left alone as already de-enrolled, maybe more)."""
    batch_size = min(settings.batch_size, size or settings.batch_size)
    revoke_person(conn, [result.client_id], [str(result.run_row_id)])
    ids = list(
        conn.execute(
            load_sql(__file__, "next_sop_batch.sql"),
            {"client_id": result.client_id, "batch_size": batch_size, "last_id": last_id[0]},
        ).scalars()
    )
    if not ids:
        return 0, 0, False
    before = result.leads_de_enrolled
    conn.execute(load_sql(__file__, "process_sop_batch.sql"), {"run_id": result.run_row_id, "lead_ids": ids})
    # the batch function returns only the total; the outcome split and the skipped leads come from the lead log
    row = conn.execute(load_sql(__file__, "sop_batch_outcomes.sql"), {"run_id": result.run_row_id, "ids": ids}).one()
    _add_counts(result, row[:4])
    done = result.leads_de_enrolled - before
    if done:
        settle_counters(conn, [result.run_row_id])
    conn.execute(
        load_sql(__file__, "add_chunk_counts.sql"),
        {"run_id": result.run_row_id, "de_enrolled": done, "skipped": row.skipped},
    )
    last_id[0] = ids[-1]
    return done, int(row.skipped), len(ids) >= batch_size
