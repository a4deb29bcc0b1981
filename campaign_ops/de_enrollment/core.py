"""De-enrollment: end the enrollment of leads that finished their sequence, opted out or booked a meeting.

The rules live in one SQL function, `de_enroll_client_leads` (sql/0021). This module decides which clients to
work on, in which order, under which lock and budget, and records every client's pass in `de_enrollment_runs`.

Each client's pass:
1. takes the client's advisory lock (session level, on its own connection) or records `skipped` when another
   worker holds it — different clients never block each other;
2. records a `running` row (committed first, so a failure can be written on it);
3. de-enrolls in set-based chunks, one transaction each, so what is done is committed when the budget runs out;
4. closes the row: `success`, `partial` (budget exhausted: it goes first next time) or `failed` (error_details).

Cost follows the work, not the clients (a per-client pass costs ~22 ms of round trips and commits even when
nothing is due): one statement first counts every client's due leads (`triage_clients.sql`). Clients with
nothing due get their pass recorded set-based (`record_idle_passes.sql`: under each client's lock, one
`success` row with its true counts, or `skipped` when the lock is held), a few hundred clients per statement —
a pass is "the client was examined under its lock": the SOP's health queries (hours since the last success,
success rate) must stay true for quiet clients. Clients with due leads are worked in groups, one transaction per
group holding each client's lock for the transaction, each client's rows written with the same SQL as its own
pass; a group that fails or runs out of budget rolls back whole and each of its clients then gets its own pass
(steps 1-4 above), which isolates a failing client and records it by name.

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
from campaign_ops.db.engine import connect
from campaign_ops.errors import ConfigError
from campaign_ops.sqlfiles import load_sql

log = logging.getLogger(__name__)

Mode = Literal["set_based", "batched"]
Status = Literal["success", "partial", "failed", "skipped"]

DEFAULT_BATCH_SIZE = 100
DEFAULT_MAX_RUNTIME_MS = 240_000
DEFAULT_CHUNK_SIZE = 50_000
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
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
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
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise ConfigError(f"{env} must be an integer, got {raw!r}") from None
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
        due = {
            row.client_id: int(row.due)
            for row in conn.execute(load_sql(__file__, "triage_clients.sql"), {"client_ids": ordered})
        }
        conn.commit()
    sweep = SweepResult()
    results: dict[str, ClientResult] = {}

    def done(result: ClientResult) -> None:
        results[result.client_id] = result
        if result.leads_de_enrolled or result.status != "success" or result.leads_skipped:
            say(_describe(result))  # quiet clients are summed up below, not one line each
        if on_client_done:
            on_client_done(result)

    def one_pass(client_id: str) -> None:
        if time.monotonic() >= deadline:
            done(_record_not_reached(engine, client_id, names.get(client_id, ""), settings, dagster_run_id))
        else:
            done(
                _de_enroll_one_client(
                    engine, client_id, names.get(client_id, ""), settings, deadline, dagster_run_id, say
                )
            )

    busy = [c for c in ordered if due.get(c, 0) > 0]
    if settings.mode == "set_based":
        for group in _groups(busy, due, settings.chunk_size):
            if time.monotonic() >= deadline:
                break
            reached: list[str] = []
            outcome = _group_pass(engine, group, names, settings, deadline, dagster_run_id, say, reached)
            if outcome is None:  # the budget ran out inside the group: rolled back, its clients are partial
                for client_id in group:
                    name = names.get(client_id, "")
                    if client_id in reached:
                        done(_record_out_of_budget(engine, client_id, name, settings, dagster_run_id))
                    else:
                        done(_record_not_reached(engine, client_id, name, settings, dagster_run_id))
                continue
            for result in outcome:
                done(result)
    for client_id in busy:
        if client_id not in results:
            one_pass(client_id)
    idle = [c for c in ordered if due.get(c, 0) == 0]
    for start in range(0, len(idle), IDLE_BATCH):
        for result, became_due in _record_idle_passes(
            engine, idle[start : start + IDLE_BATCH], names, settings, dagster_run_id
        ):
            if became_due:
                one_pass(result.client_id)
            else:
                done(result)
    if idle:
        say(f"{len(idle)} client(s) had nothing due: their passes were recorded set-based")
    sweep.clients = [results[c] for c in ordered if c in results]
    sweep.duration_ms = int((time.monotonic() - started) * 1000)
    return sweep


def _groups(client_ids: Sequence[str], due: dict[str, int], chunk_size: int) -> list[list[str]]:
    """Consecutive groups of at most GROUP_CLIENTS clients and about chunk_size due leads (one transaction
    each); a client with more than chunk_size due leads is left to its own pass, which works in chunks."""
    groups: list[list[str]] = []
    group: list[str] = []
    leads = 0
    for client_id in client_ids:
        n = due[client_id]
        if n > chunk_size:
            continue
        if group and (len(group) >= GROUP_CLIENTS or leads + n > chunk_size):
            groups.append(group)
            group, leads = [], 0
        group.append(client_id)
        leads += n
    if group:
        groups.append(group)
    return groups


def _group_pass(
    engine: Engine,
    group: Sequence[str],
    names: dict[str, str],
    settings: DeEnrollmentSettings,
    deadline: float,
    dagster_run_id: str | None,
    say: LogCallback,
    reached: list[str],
) -> list[ClientResult] | None:
    """Every client of the group whose lock is free, in ONE transaction: its run row, its leads, its counts.

    Returns nothing when the transaction rolled back on an error: the caller then gives each client its own
    pass. None when the budget ran out mid-group (rolled back too). Clients whose lock was held are not
    returned (their own pass records them skipped). `reached` lists the clients whose work had started.
    """
    started = time.monotonic()
    results: list[ClientResult] = []
    try:
        with connect(engine) as conn, conn.begin():
            remaining_ms = int((deadline - started) * 1000)
            if remaining_ms <= 0:
                return []
            conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(remaining_ms)})
            locked = list(
                conn.execute(load_sql(__file__, "try_client_xact_locks.sql"), {"client_ids": list(group)}).scalars()
            )
            for client_id in locked:
                reached.append(client_id)
                r = ClientResult(client_id=client_id, client_name=names.get(client_id, ""), status="success")
                r.run_row_id = str(
                    conn.execute(
                        load_sql(__file__, "start_run.sql"),
                        {
                            "client_id": client_id,
                            "status": "running",
                            "batch_size": settings.batch_size,
                            "dagster_run_id": dagster_run_id,
                        },
                    ).scalar_one()
                )
                params = {"client_id": client_id, "run_id": r.run_row_id}
                conn.execute(load_sql(__file__, "abandon_stale_runs.sql"), params)
                evaluated = conn.execute(load_sql(__file__, "evaluate_client.sql"), params).one()
                r.leads_evaluated, r.leads_skipped = evaluated.evaluated, evaluated.skipped
                if evaluated.skipped:
                    r.error_details = (
                        f"{evaluated.skipped} leads skipped: messages is not a JSON array in "
                        f"{evaluated.invalid_campaigns}"
                    )
                row = conn.execute(load_sql(__file__, "de_enroll_chunk.sql"), {**params, "chunk_size": None}).one()
                _add_counts(r, row)
                r.chunks = 1
                results.append(r)
            share = int((time.monotonic() - started) * 1000) // max(len(results), 1)
            for r in results:
                r.duration_ms = share
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
    except OperationalError as exc:
        if getattr(exc.orig, "pgcode", None) == "57014":  # query_canceled: the budget ran out mid-group
            return None
        say(f"a group of {len(group)} client(s) rolled back ({error_text(exc)}); each gets its own pass")
        return []
    except Exception as exc:  # rolled back whole: nothing of it is kept, each client gets its own pass
        say(f"a group of {len(group)} client(s) rolled back ({error_text(exc)}); each gets its own pass")
        return []
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
