"""De-enrollment: end the enrollment of leads that finished their sequence, opted out or booked a meeting.

The rules live in one SQL function, `de_enroll_leads` (sql/0034; `de_enroll_client_leads` is its one-client
form). This module decides which clients to work on, in which order, under which lock and budget, and records
every client's pass in `de_enrollment_runs`.

Each client's pass:
1. takes the client's advisory lock (session level, on its own connection) or records `skipped` when another
   worker holds it — different clients never block each other;
2. records a `running` row (committed first, so a failure can be written on it);
3. de-enrolls in set-based chunks, one transaction each, so what is done is committed when the budget runs out;
4. closes the row: `success`, `partial` (budget exhausted) or `failed` (error_details). An interrupted pass
   (Terminate, run monitoring, SIGTERM, Ctrl-C: BaseExceptions) is closed `partial`/`failed` with reason
   `interrupted`, then the interruption goes on.

Each chunk's figures are added to the run row in the chunk's own transaction: the row counts what committed.
Clients are taken in fair order (the one whose last real progress is oldest first, order_clients.sql) and chunks
shrink to what the remaining budget allows at the pace measured so far. A lost database connection stops the
sweep at once (`SweepResult.connection_lost`); the clients not reached keep their old progress time and so go
first next time.

A due lead whose enrollment was already de-enrolled (live or archived lead log, no later `restored` entry) is
left as it is and recorded once as `skipped` (see sql/0028); `skipped.resolve_skipped` records an operator's decision.

Cost follows the work, not the clients (a per-client pass costs ~22 ms of round trips and commits even when
nothing is due): one statement first counts every client's due leads (`triage_clients.sql`). Clients with
nothing due get their pass recorded set-based (`record_idle_passes.sql`: under each client's lock, one
`success` row with its true counts, or `skipped` when the lock is held), a few hundred clients per statement —
a pass is "the client was examined under its lock": the SOP's health queries (hours since the last success,
success rate) must stay true for quiet clients. Clients with due leads are worked in groups, one transaction and
two statements per group whatever its number of clients: `group_start.sql` takes each client's lock for the
transaction, closes its stale rows, counts what it examines and writes its `running` row; `group_finish.sql`
de-enrolls every due lead of the group in one call of `de_enroll_leads` (sql/0034: one UPDATE … RETURNING feeding
the lead log and an incremental counter update, figures per client) and closes each run row with its own
figures. A group that fails or runs out of budget rolls back whole and each of its clients then gets its own
pass (steps 1-4 above), which isolates a failing client and records it by name.

Two paths give identical results (a test compares them): the default set-based path (one statement per chunk of
up to `chunk_size` leads) and the SOP's runbook path (`get_leads_for_de_enrollment` batches of `batch_size`
ordered by id, each applied by `process_de_enrollment_batch`), kept so operators' runbooks keep working.
"""

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from campaign_ops.clients.locks import release_client_lock
from campaign_ops.clients.partition_keys import client_names
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
# the first chunk of a sweep, before any pace is measured: small enough to commit within any sensible budget
FIRST_CHUNK_SIZE = 100
# a chunk is sized to use at most this share of the remaining budget at the measured pace
BUDGET_SHARE = 0.5
Clock = Callable[[], float]
# clients per transaction on the set-based paths: each holds one lock-table entry until its transaction ends
# (the lock table holds max_locks_per_transaction x max_connections entries, 6,400 by default)
GROUP_CLIENTS = 200
IDLE_BATCH = 500


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
    already_de_enrolled: int = 0  # of leads_skipped: due again, enrollment already de-enrolled (`skipped` rows)
    chunks: int = 0
    duration_ms: int = 0
    error_details: str | None = None
    connection_lost: bool = False


@dataclass
class SweepResult:
    clients: list[ClientResult] = field(default_factory=list)
    duration_ms: int = 0
    # set when the database connection was lost: the one line that names it; the sweep stopped there
    connection_lost: str | None = None
    not_reached: list[str] = field(default_factory=list)  # client ids left untried after a connection loss

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


@dataclass
class _Pace:
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


def de_enroll_clients(
    engine: Engine,
    client_ids: Sequence[str],
    settings: DeEnrollmentSettings,
    *,
    dagster_run_id: str | None = None,
    on_client_done: ProgressCallback | None = None,
    log_line: LogCallback | None = None,
    clock: Clock = time.monotonic,
) -> SweepResult:
    """De-enroll the given (already validated, active) clients within one runtime budget.

    Never raises for one client's failure: it is recorded `failed` and the others go on. Clients not reached
    before the budget runs out are recorded `partial` and, having made no progress, go first next time. A lost
    connection stops the sweep (`connection_lost`). An interruption (BaseException) is recorded, then re-raised.
    `clock` (seconds, monotonic) is injectable so tests can run a budget deterministically.
    """
    say = log_line or log.info
    started = clock()
    deadline = started + settings.max_runtime_ms / 1000
    sweep = SweepResult()
    try:
        with connect(engine) as conn:
            ordered = [
                str(c)
                for c in conn.execute(
                    load_sql(__file__, "order_clients.sql"), {"client_ids": list(client_ids)}
                ).scalars()
            ]
            names = client_names(conn, ordered)
            due = {
                row.client_id: int(row.due)
                for row in conn.execute(load_sql(__file__, "triage_clients.sql"), {"client_ids": ordered})
            }
            conn.commit()
    except Exception as exc:
        if not is_connection_loss(exc):
            raise
        sweep.connection_lost = f"database connection lost before any client: {error_text(exc)}"
        sweep.not_reached = list(client_ids)
        say(sweep.connection_lost)
        return sweep
    pace = _Pace()
    results: dict[str, ClientResult] = {}
    lost: list[str] = []  # the line naming a lost connection: the sweep stops there

    def done(result: ClientResult) -> None:
        results[result.client_id] = result
        if result.leads_de_enrolled or result.status != "success" or result.leads_skipped:
            say(_describe(result))  # quiet clients are summed up below, not one line each
        if on_client_done:
            on_client_done(result)
        if result.connection_lost:
            lost.append(
                f"database connection lost during client {result.client_name or result.client_id} "
                f"({result.client_id}): {result.error_details}"
            )

    def one_pass(client_id: str) -> None:
        name = names.get(client_id, "")
        if clock() >= deadline:
            try:
                result = _record_not_reached(engine, client_id, name, settings, dagster_run_id)
            except Exception as exc:
                if not is_connection_loss(exc):
                    raise
                result = ClientResult(client_id, name, "failed", error_details=error_text(exc))
                result.connection_lost = True
        else:
            result = _de_enroll_one_client(
                engine, client_id, name, settings, deadline, dagster_run_id, say, clock, pace
            )
        done(result)

    busy = [c for c in ordered if due.get(c, 0) > 0]
    if settings.mode == "set_based":
        queue = list(busy)
        while queue and not lost:
            now = clock()
            if now >= deadline:
                break
            # a group holds as many due leads as the budget allows at the pace measured so far (few at first),
            # each client's part at most one chunk
            group = _next_group(
                queue, due, pace.group_leads(settings, int((deadline - now) * 1000)), settings.chunk_size
            )
            if not group:
                # more due leads than the group may hold: its own pass works it now, in budget-fitted chunks, and
                # measures the pace the next groups are sized by (deferred, every client of a sweep whose clients
                # all have more than the first chunk would get its own pass: 99 at 1M leads / 100 clients)
                one_pass(queue.pop(0))
                continue
            del queue[: len(group)]
            reached: list[str] = []
            group_started = now
            outcome = _group_pass(engine, group, names, settings, deadline, dagster_run_id, say, reached, clock)
            if outcome:
                pace.observe(sum(r.leads_de_enrolled for r in outcome), (clock() - group_started) * 1000)
            if outcome is None:  # the budget ran out inside the group: rolled back, its clients are partial
                for client_id in group:
                    if not lost:
                        name = names.get(client_id, "")
                        if client_id in reached:
                            done(_record_out_of_budget(engine, client_id, name, settings, dagster_run_id))
                        else:
                            one_pass(client_id)
                continue
            for result in outcome:
                done(result)
    for client_id in busy:
        if lost:
            break
        if client_id not in results:
            one_pass(client_id)
    idle = [c for c in ordered if due.get(c, 0) == 0]
    for start in range(0, len(idle), IDLE_BATCH):
        if lost:
            break
        try:
            recorded = _record_idle_passes(engine, idle[start : start + IDLE_BATCH], names, settings, dagster_run_id)
        except Exception as exc:
            if not is_connection_loss(exc):
                raise
            lost.append(f"database connection lost recording quiet clients' passes: {error_text(exc)}")
            break
        for result, became_due in recorded:
            if lost:
                break
            if became_due:
                one_pass(result.client_id)
            else:
                done(result)
    if idle and not lost:
        say(f"{len(idle)} client(s) had nothing due: their passes were recorded set-based")
    sweep.clients = [results[c] for c in ordered if c in results]
    if lost:
        sweep.not_reached = [c for c in ordered if c not in results]
        sweep.connection_lost = (
            f"{lost[0]}; sweep stopped, {len(sweep.not_reached)} client(s) not reached (they go first next run)"
        )
        say(sweep.connection_lost)
    sweep.duration_ms = int((clock() - started) * 1000)
    return sweep


def _next_group(queue: Sequence[str], due: dict[str, int], limit: int, per_client: int) -> list[str]:
    """The clients at the head of the queue that fit one group: at most GROUP_CLIENTS clients, `limit` due leads
    in all and `per_client` each (empty when the first client alone has more: it gets its own pass, which works in
    chunks)."""
    group: list[str] = []
    leads = 0
    for client_id in queue:
        n = due[client_id]
        if len(group) >= GROUP_CLIENTS or leads + n > limit or n > per_client:
            break
        group.append(client_id)
        leads += n
    return group


def _group_pass(
    engine: Engine,
    group: Sequence[str],
    names: dict[str, str],
    settings: DeEnrollmentSettings,
    deadline: float,
    dagster_run_id: str | None,
    say: LogCallback,
    reached: list[str],
    clock: Clock = time.monotonic,
) -> list[ClientResult] | None:
    """Every client of the group whose lock is free, in ONE transaction: its run row, its leads, its counts.

    Returns nothing when the transaction rolled back on an error: the caller then gives each client its own
    pass. None when the budget ran out mid-group (rolled back too). Clients whose lock was held are not
    returned (their own pass records them skipped). `reached` lists the clients whose work had started.
    """
    started = clock()
    results: list[ClientResult] = []
    try:
        with connect(engine) as conn, conn.begin():
            remaining_ms = int((deadline - started) * 1000)
            if remaining_ms <= 0:
                return []
            conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(remaining_ms)})
            # locks, stale rows, evaluation and `running` rows of every client of the group: one statement
            runs = conn.execute(
                load_sql(__file__, "group_start.sql"),
                {"client_ids": list(group), "batch_size": settings.batch_size, "dagster_run_id": dagster_run_id},
            ).all()
            reached.extend(row.client_id for row in runs)
            if not runs:
                return []
            # the de-enrollment statement gets what is left of the budget (it is cancelled and the group rolls
            # back when it runs out)
            remaining_ms = int((deadline - clock()) * 1000)
            if remaining_ms <= 0:
                return None
            conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(remaining_ms)})
            # every due lead of those clients, their lead-log rows, counters and run rows: one statement
            rows = conn.execute(
                load_sql(__file__, "group_finish.sql"),
                {"client_ids": [row.client_id for row in runs], "run_ids": [row.run_row_id for row in runs]},
            ).all()
            by_client = {row.client_id: row for row in rows}
            for run in runs:
                row = by_client[run.client_id]
                r = ClientResult(
                    client_id=run.client_id,
                    client_name=names.get(run.client_id, ""),
                    status=row.status,
                    run_row_id=row.run_row_id,
                    leads_evaluated=row.leads_evaluated,
                    leads_de_enrolled=row.leads_de_enrolled,
                    completed=row.completed,
                    opted_out=row.opted_out,
                    booked=row.booked,
                    leads_skipped=row.leads_skipped,
                    already_de_enrolled=row.already_de_enrolled,
                    chunks=1,
                    duration_ms=row.duration_ms,
                    error_details=row.error_details,
                )
                results.append(r)
    except OperationalError as exc:
        if getattr(exc.orig, "pgcode", None) == "57014":  # query_canceled: the budget ran out mid-group
            return None
        say(f"a group of {len(group)} client(s) rolled back ({error_text(exc)}); each gets its own pass")
        return []
    except Exception as exc:  # rolled back whole: nothing of it is kept, each client gets its own pass
        say(f"a group of {len(group)} client(s) rolled back ({error_text(exc)}); each gets its own pass")
        return []
    except BaseException as exc:  # Terminate, max runtime, Ctrl-C: nothing committed; record it, then go on
        for client_id in reached or list(group[:1]):
            interrupted = ClientResult(client_id=client_id, client_name=names.get(client_id, ""), status="success")
            _mark_interrupted(interrupted, exc)
            with contextlib.suppress(Exception), connect(engine) as conn:
                interrupted.run_row_id = _start_run(conn, client_id, "running", settings, dagster_run_id)
                _finish_run(conn, interrupted)
        raise
    return results


def _record_out_of_budget(
    engine: Engine, client_id: str, name: str, settings: DeEnrollmentSettings, dagster_run_id: str | None
) -> ClientResult:
    result = ClientResult(client_id=client_id, client_name=name, status="success")
    _mark_partial(result, settings)
    with connect(engine) as conn:
        result.run_row_id = _start_run(conn, client_id, "running", settings, dagster_run_id)
        _finish_run(conn, result)
    return result


def _record_idle_passes(
    engine: Engine,
    client_ids: Sequence[str],
    names: dict[str, str],
    settings: DeEnrollmentSettings,
    dagster_run_id: str | None,
) -> list[tuple[ClientResult, bool]]:
    """(result, became_due) per client of one batch of clients the triage found with nothing due."""
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


def _describe(r: ClientResult) -> str:
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
    clock: Clock = time.monotonic,
    pace: "_Pace | None" = None,
) -> ClientResult:
    started = clock()
    result = ClientResult(client_id=client_id, client_name=name, status="success")
    params = {"client_id": client_id}
    pace = pace or _Pace()
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
            interrupted: BaseException | None = None
            lost: Exception | None = None
            try:
                result.run_row_id = _start_run(conn, client_id, "running", settings, dagster_run_id)
                _run_client_pass(conn, result, settings, deadline, say, clock, pace)
            except Exception as exc:  # one client's failure must not stop the others
                if is_connection_loss(exc):
                    lost = exc
                else:
                    conn.rollback()
                    result.status = "failed"
                    result.error_details = error_text(exc)
            except BaseException as exc:  # Terminate, max runtime, SIGTERM, Ctrl-C: record it, then let it go on
                interrupted = exc
                _mark_interrupted(result, exc)
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
                    _finish_run(conn, result)
                release_client_lock(conn, client_id)
                conn.commit()
    except Exception as exc:  # the connection itself broke: record on a new one if the server answers
        result.status = "failed"
        result.error_details = error_text(exc)
        result.connection_lost = is_connection_loss(exc)
        result.duration_ms = int((clock() - started) * 1000)
        try:
            with connect(engine) as conn:
                if result.run_row_id is None:
                    result.run_row_id = _start_run(conn, client_id, "running", settings, dagster_run_id)
                _finish_run(conn, result)
        except Exception:  # the database is down: the Dagster layer and CLI still report the failure
            log.warning("could not record the failed pass of client %s", client_id)
    return result


def _mark_interrupted(result: ClientResult, exc: BaseException) -> None:
    # what committed stays committed: with some progress the pass is partial, else failed
    result.status = "partial" if result.leads_de_enrolled > 0 else "failed"
    note = f"interrupted ({type(exc).__name__}) after {result.chunks} committed chunk(s)"
    result.error_details = f"{result.error_details}; {note}" if result.error_details else note


def _record_interrupted(engine: Engine, conn: Connection, result: ClientResult, params: dict[str, str]) -> None:
    """Close the interrupted pass's row (on its connection, else on a new one) and release the client's lock."""
    if result.run_row_id is None:
        return
    try:
        _finish_run(conn, result)
        release_client_lock(conn, result.client_id)
        conn.commit()
        return
    except Exception:
        conn.invalidate()  # a broken session also drops its advisory lock
    try:
        with connect(engine) as other:
            _finish_run(other, result)
    except Exception:
        log.warning("could not record the interrupted pass of client %s", result.client_id)


def _run_client_pass(
    conn: Connection,
    result: ClientResult,
    settings: DeEnrollmentSettings,
    deadline: float,
    say: LogCallback,
    clock: Clock = time.monotonic,
    pace: "_Pace | None" = None,
) -> None:
    pace = pace or _Pace()
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
            _mark_partial(result, settings)
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
                _mark_partial(result, settings)  # query_canceled: the budget ran out mid-chunk
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
    conn: Connection,
    result: ClientResult,
    settings: DeEnrollmentSettings,
    _last: list[str | None],
    size: int | None = None,
) -> tuple[int, int, bool]:
    """(de-enrolled, left alone as already de-enrolled, maybe more): one statement, which also adds the chunk's
    figures to the run row."""
    limit = size or settings.chunk_size
    row = conn.execute(
        load_sql(__file__, "de_enroll_chunk.sql"),
        {"client_id": result.client_id, "run_id": result.run_row_id, "chunk_size": limit},
    ).one()
    done = _add_counts(result, row[:4])
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
    conn.execute(
        load_sql(__file__, "add_chunk_counts.sql"),
        {"run_id": result.run_row_id, "de_enrolled": done, "skipped": row.skipped},
    )
    last_id[0] = ids[-1]
    return done, int(row.skipped), len(ids) >= batch_size
