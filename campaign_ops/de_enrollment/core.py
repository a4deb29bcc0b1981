"""De-enrollment: end the enrollment of leads that finished their sequence, opted out or booked a meeting.

The rules live in one SQL function, `de_enroll_client_leads` (sql/0021). This module decides which clients to
work on, in which order, under which lock and budget, and records every client's pass in `de_enrollment_runs`.

Each client's pass:
1. takes the client's advisory lock (session level, on its own connection) or records `skipped` when another
   worker holds it — different clients never block each other;
2. records a `running` row (committed first, so a failure can be written on it);
3. de-enrolls in set-based chunks, one transaction each, so what is done is committed when the budget runs out;
4. closes the row: `success`, `partial` (budget exhausted: it goes first next time) or `failed` (error_details).

Two paths give identical results (a test compares them): the default set-based path (one statement per chunk of
up to `chunk_size` leads) and the SOP's runbook path (`get_leads_for_de_enrollment` batches of `batch_size`
ordered by id, each applied by `process_de_enrollment_batch`), kept so operators' runbooks keep working.
"""

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from campaign_ops.clients.sweep import error_text
from campaign_ops.db import INT4_MAX
from campaign_ops.db.engine import connect
from campaign_ops.errors import ConfigError
from campaign_ops.sqlfiles import load_sql

log = logging.getLogger(__name__)

Mode = Literal["set_based", "batched"]
Status = Literal["success", "partial", "failed", "skipped"]

DEFAULT_BATCH_SIZE = 100
DEFAULT_MAX_RUNTIME_MS = 240_000
DEFAULT_CHUNK_SIZE = 50_000


@dataclass(frozen=True)
class DeEnrollmentSettings:
    """How a de-enrollment run works. Environment: DE_ENROLLMENT_BATCH_SIZE, DE_ENROLLMENT_MAX_RUNTIME (ms),
    DE_ENROLLMENT_CHUNK_SIZE, as the SOP names them; run config and CLI options override them."""

    batch_size: int = DEFAULT_BATCH_SIZE  # leads per transaction on the SOP's batched path
    max_runtime_ms: int = DEFAULT_MAX_RUNTIME_MS  # budget of a whole run, all clients together
    chunk_size: int = DEFAULT_CHUNK_SIZE  # leads per transaction on the set-based path
    mode: Mode = "set_based"

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_runtime_ms", "chunk_size"):
            value = getattr(self, name)
            # at most PostgreSQL's integer: the sizes are LIMITs and the budget becomes statement_timeout (ms)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
            if value > INT4_MAX:
                raise ConfigError(f"{name} must be at most {INT4_MAX}, got {value}")
        if self.mode not in ("set_based", "batched"):
            raise ConfigError(f"mode must be 'set_based' or 'batched', got {self.mode!r}")

    @classmethod
    def from_env(cls, **overrides: object) -> "DeEnrollmentSettings":
        """Defaults, then the SOP's environment variables, then non-None overrides."""
        values: dict[str, object] = {}
        for name, env in (
            ("batch_size", "DE_ENROLLMENT_BATCH_SIZE"),
            ("max_runtime_ms", "DE_ENROLLMENT_MAX_RUNTIME"),
            ("chunk_size", "DE_ENROLLMENT_CHUNK_SIZE"),
        ):
            raw = os.environ.get(env)
            if raw is not None and raw.strip():
                # ASCII digits only: int() also takes '２', '1_000' and thousands of digits
                digits = raw.strip()
                if not (digits.isascii() and digits.isdigit()):
                    raise ConfigError(f"{env} must be an integer, got {raw!r}")
                if len(digits) > 10 or not 0 < int(digits) <= INT4_MAX:
                    raise ConfigError(f"{env} must be an integer from 1 to {INT4_MAX}, got {raw!r}")
                values[name] = int(digits)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


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
    chunks: int = 0
    duration_ms: int = 0
    error_details: str | None = None


@dataclass
class SweepResult:
    clients: list[ClientResult] = field(default_factory=list)
    duration_ms: int = 0

    def with_status(self, *statuses: Status) -> list[ClientResult]:
        return [c for c in self.clients if c.status in statuses]

    @property
    def failed(self) -> list[ClientResult]:
        return self.with_status("failed")

    @property
    def leads_de_enrolled(self) -> int:
        return sum(c.leads_de_enrolled for c in self.clients)


ProgressCallback = Callable[[ClientResult], None]
LogCallback = Callable[[str], None]


def de_enroll_clients(
    engine: Engine,
    client_ids: Sequence[str],
    settings: DeEnrollmentSettings,
    *,
    dagster_run_id: str | None = None,
    on_client_done: ProgressCallback | None = None,
    log_line: LogCallback | None = None,
) -> SweepResult:
    """De-enroll the given (already validated, active) clients within one runtime budget.

    Never raises for one client's failure: it is recorded `failed` and the others go on. Clients not reached
    before the budget runs out are recorded `partial` and go first next time.
    """
    say = log_line or log.info
    started = time.monotonic()
    deadline = started + settings.max_runtime_ms / 1000
    with connect(engine) as conn:
        ordered = [
            str(c)
            for c in conn.execute(load_sql(__file__, "order_clients.sql"), {"client_ids": list(client_ids)}).scalars()
        ]
        names: dict[str, str] = dict(
            conn.execute(
                text("SELECT id::text, company_name FROM clients WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": ordered},
            ).all()
        )
        conn.commit()
    sweep = SweepResult()
    for client_id in ordered:
        if time.monotonic() >= deadline:
            result = _record_not_reached(engine, client_id, names.get(client_id, ""), settings, dagster_run_id)
        else:
            result = _de_enroll_one_client(
                engine, client_id, names.get(client_id, ""), settings, deadline, dagster_run_id, say
            )
        sweep.clients.append(result)
        say(_describe(result))
        if on_client_done:
            on_client_done(result)
    sweep.duration_ms = int((time.monotonic() - started) * 1000)
    return sweep


def _describe(r: ClientResult) -> str:
    text_ = (
        f"client {r.client_name or r.client_id} ({r.client_id}): {r.status}, {r.leads_de_enrolled} de-enrolled "
        f"of {r.leads_evaluated} evaluated (completed {r.completed}, opted out {r.opted_out}, booked {r.booked}) "
        f"in {r.duration_ms} ms"
    )
    if r.leads_skipped:
        text_ += f", {r.leads_skipped} leads skipped"
    if r.error_details:
        text_ += f" — {r.error_details}"
    return text_


def _start_run(
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


def _finish_run(conn: Connection, r: ClientResult) -> None:
    with conn.begin():
        conn.execute(
            load_sql(__file__, "finish_run.sql"),
            {
                "run_id": r.run_row_id,
                "status": r.status,
                "leads_evaluated": r.leads_evaluated,
                "leads_de_enrolled": r.leads_de_enrolled,
                "leads_skipped": r.leads_skipped,
                "duration_ms": r.duration_ms,
                "error_details": r.error_details,
            },
        )


def _record_not_reached(
    engine: Engine, client_id: str, name: str, settings: DeEnrollmentSettings, dagster_run_id: str | None
) -> ClientResult:
    result = ClientResult(
        client_id=client_id,
        client_name=name,
        status="partial",
        error_details=f"not reached within the runtime budget ({settings.max_runtime_ms} ms); goes first next run",
    )
    with connect(engine) as conn:
        result.run_row_id = _start_run(conn, client_id, "running", settings, dagster_run_id)
        _finish_run(conn, result)
    return result


def _de_enroll_one_client(
    engine: Engine,
    client_id: str,
    name: str,
    settings: DeEnrollmentSettings,
    deadline: float,
    dagster_run_id: str | None,
    say: LogCallback,
) -> ClientResult:
    started = time.monotonic()
    result = ClientResult(client_id=client_id, client_name=name, status="success")
    params = {"client_id": client_id}
    try:
        with connect(engine) as conn:
            locked = bool(conn.execute(load_sql(__file__, "try_client_lock.sql"), params).scalar())
            conn.commit()
            if not locked:
                result.status = "skipped"
                result.error_details = "another worker is de-enrolling this client (its lock is held); skipped"
                result.run_row_id = _start_run(conn, client_id, "running", settings, dagster_run_id)
                _finish_run(conn, result)
                return result
            try:
                result.run_row_id = _start_run(conn, client_id, "running", settings, dagster_run_id)
                _run_client_pass(conn, result, settings, deadline, say)
            except Exception as exc:  # one client's failure must not stop the others
                conn.rollback()
                result.status = "failed"
                result.error_details = error_text(exc)
            finally:
                result.duration_ms = int((time.monotonic() - started) * 1000)
                if result.run_row_id:
                    _finish_run(conn, result)
                conn.execute(load_sql(__file__, "release_client_lock.sql"), params)
                conn.commit()
    except Exception as exc:  # the connection itself broke: record on a new one if the server answers
        result.status = "failed"
        result.error_details = error_text(exc)
        result.duration_ms = int((time.monotonic() - started) * 1000)
        try:
            with connect(engine) as conn:
                if result.run_row_id is None:
                    result.run_row_id = _start_run(conn, client_id, "running", settings, dagster_run_id)
                _finish_run(conn, result)
        except Exception:  # the database is down: the Dagster layer and CLI still report the failure
            log.warning("could not record the failed pass of client %s", client_id)
    return result


def _run_client_pass(
    conn: Connection, result: ClientResult, settings: DeEnrollmentSettings, deadline: float, say: LogCallback
) -> None:
    params = {"client_id": result.client_id, "run_id": result.run_row_id}
    with conn.begin():
        conn.execute(load_sql(__file__, "abandon_stale_runs.sql"), params)
        evaluated = conn.execute(load_sql(__file__, "evaluate_client.sql"), params).one()
    result.leads_evaluated = evaluated.evaluated
    result.leads_skipped = evaluated.skipped
    if evaluated.skipped:
        result.error_details = (
            f"{evaluated.skipped} leads skipped: messages is not a JSON array in {evaluated.invalid_campaigns}"
        )
    step = _sop_batch if settings.mode == "batched" else _set_based_chunk
    last_id: list[str | None] = [None]
    while True:
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            _mark_partial(result, settings)
            return
        try:
            with conn.begin():
                # a statement may not outlive the budget: it is cancelled and its chunk rolls back
                conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(remaining_ms)})
                done, more = step(conn, result, settings, last_id)
        except OperationalError as exc:
            if getattr(exc.orig, "pgcode", None) == "57014":  # query_canceled: the budget ran out mid-chunk
                _mark_partial(result, settings)
                return
            raise
        result.chunks += 1
        if done:
            say(
                f"client {result.client_name or result.client_id}: chunk {result.chunks}: "
                f"{done} de-enrolled ({result.leads_de_enrolled} so far)"
            )
        if not more:
            return


def _mark_partial(result: ClientResult, settings: DeEnrollmentSettings) -> None:
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
    conn: Connection, result: ClientResult, settings: DeEnrollmentSettings, _last: list[str | None]
) -> tuple[int, bool]:
    row = conn.execute(
        load_sql(__file__, "de_enroll_chunk.sql"),
        {"client_id": result.client_id, "run_id": result.run_row_id, "chunk_size": settings.chunk_size},
    ).one()
    done = _add_counts(result, row)
    return done, done >= settings.chunk_size


def _sop_batch(
    conn: Connection, result: ClientResult, settings: DeEnrollmentSettings, last_id: list[str | None]
) -> tuple[int, bool]:
    ids = list(
        conn.execute(
            load_sql(__file__, "next_sop_batch.sql"),
            {"client_id": result.client_id, "batch_size": settings.batch_size, "last_id": last_id[0]},
        ).scalars()
    )
    if not ids:
        return 0, False
    before = result.leads_de_enrolled
    conn.execute(load_sql(__file__, "process_sop_batch.sql"), {"run_id": result.run_row_id, "lead_ids": ids})
    # the batch function returns only the total; the outcome split comes from the lead log of this batch
    row = conn.execute(load_sql(__file__, "sop_batch_outcomes.sql"), {"run_id": result.run_row_id, "ids": ids}).one()
    _add_counts(result, row)
    last_id[0] = ids[-1]
    return result.leads_de_enrolled - before, len(ids) >= settings.batch_size
