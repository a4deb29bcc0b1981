"""De-enrollment: end the enrollment of leads that finished their sequence, opted out or booked a meeting.

The rules live in one SQL function, `de_enroll_leads` (sql/0034; `de_enroll_client_leads` is its one-client
form). This module decides which clients to work on, in which order, under which lock and budget, and records
every client's pass in `de_enrollment_runs`.

A client's own pass (lock, `running` row, chunks that each commit, the row closed even when interrupted) is
`client_pass.py`; its settings and results are `settings.py` and `results.py`. Clients are taken in fair
order (the one whose last real progress is oldest first, order_clients.sql). A lost database connection stops
the sweep at once (`SweepResult.connection_lost`); the clients not reached keep their old progress time and so
go first next time.

A due lead whose enrollment was already de-enrolled (live or archived lead log, no later `restored` entry) is
left as it is and recorded once as `skipped` (see sql/0028); `skipped.resolve_skipped` records an operator's
decision.

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
figures; then `settle_counters.sql` makes the campaigns it touched match their leads (the incremental update is
right only if the platform moved the counters when it flipped an opt-out or booking). A group that fails or runs
out of budget rolls back whole and each of its clients then gets its own
pass (steps 1-4 above), which isolates a failing client and records it by name.

Two paths give identical results (a test compares them): the default set-based path (one statement per chunk of
up to `chunk_size` leads) and the SOP's runbook path (`get_leads_for_de_enrollment` batches of `batch_size`
ordered by id, each applied by `process_de_enrollment_batch`), kept so operators' runbooks keep working.
"""

import contextlib
import logging
import time
from collections.abc import Sequence

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from campaign_ops.clients.partition_keys import client_names
from campaign_ops.clients.sweep import error_text
from campaign_ops.compliance.core import revoke_person
from campaign_ops.db.engine import connect
from campaign_ops.de_enrollment.client_pass import (
    ClientLockHeld,
    Clock,
    Pace,
    de_enroll_one_client,
    describe,
    finish_run,
    is_connection_loss,
    mark_interrupted,
    mark_partial,
    record_not_reached,
    settle_counters,
    start_run,
)
from campaign_ops.de_enrollment.results import ClientResult, LogCallback, ProgressCallback, SweepResult
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.errors import is_paused_error
from campaign_ops.pause.core import current_pause, refuse_if_paused
from campaign_ops.sqlfiles import load_sql
from campaign_ops.thresholds import CLIENT_LOCK_RETRY_SECONDS

log = logging.getLogger(__name__)

# clients per transaction on the set-based paths: each holds one lock-table entry until its transaction ends
# (the lock table holds max_locks_per_transaction x max_connections entries, 6,400 by default)
GROUP_CLIENTS = 200
IDLE_BATCH = 500


def de_enroll_clients(
    engine: Engine,
    client_ids: Sequence[str],
    settings: DeEnrollmentSettings,
    *,
    dagster_run_id: str | None = None,
    on_client_done: ProgressCallback | None = None,
    log_line: LogCallback | None = None,
    clock: Clock = time.monotonic,
    lock_retry_s: float = CLIENT_LOCK_RETRY_SECONDS,
) -> SweepResult:
    """De-enroll the given (already validated, active) clients within one runtime budget.

    A client with due leads whose lock another session holds (a crashed worker's statement still running in the
    server, a reconciliation) is retried after all the others, waiting for its lock at most `lock_retry_s` in all;
    only a client still locked then is recorded `skipped`, naming the session (`SweepResult.locked_out`).

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
            refuse_if_paused(conn)  # one line, nothing done; a pause during the sweep stops it at its next group
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
    pace = Pace()
    results: dict[str, ClientResult] = {}
    lost: list[str] = []  # the line naming a lost connection: the sweep stops there
    paused: list[str] = []  # the line saying processing was paused: the sweep stops there too

    def stopped() -> bool:
        """The sweep stops here: connection lost, or processing paused (checked at each group boundary)."""
        if lost or paused:
            return True
        try:
            with connect(engine) as conn:
                pause = current_pause(conn)
        except Exception as exc:
            if not is_connection_loss(exc):
                raise
            lost.append(f"database connection lost between clients: {error_text(exc)}")
            return True
        if pause is not None:
            paused.append(f"processing was {pause.line()}")
        return pause is not None

    def done(result: ClientResult) -> None:
        results[result.client_id] = result
        if result.leads_de_enrolled or result.status != "success" or result.leads_skipped:
            say(describe(result))  # quiet clients are summed up below, not one line each
        if on_client_done:
            on_client_done(result)
        if result.paused and not paused:
            paused.append(f"processing was paused during client {result.client_name or result.client_id}")
        if result.connection_lost:
            lost.append(
                f"database connection lost during client {result.client_name or result.client_id} "
                f"({result.client_id}): {result.error_details}"
            )

    deferred: list[str] = []  # clients whose lock was held: retried after all the others
    retry_until: list[float] = []  # when the retries stop waiting for locks (set when they start)

    def one_pass(client_id: str) -> None:
        if stopped():
            return
        name = names.get(client_id, "")
        if clock() >= deadline:
            try:
                result = record_not_reached(engine, client_id, name, settings, dagster_run_id)
            except Exception as exc:
                if not is_connection_loss(exc):
                    raise
                result = ClientResult(client_id, name, "failed", error_details=error_text(exc))
                result.connection_lost = True
        else:
            try:
                result = de_enroll_one_client(
                    engine,
                    client_id,
                    name,
                    settings,
                    deadline,
                    dagster_run_id,
                    say,
                    clock,
                    pace,
                    lock_wait_until=retry_until[0] if retry_until else None,
                    defer_if_locked=not retry_until,
                )
            except ClientLockHeld:
                deferred.append(client_id)
                return
        done(result)

    busy = [c for c in ordered if due.get(c, 0) > 0]
    if settings.mode == "set_based":
        queue = list(busy)
        while queue and not stopped():
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
                    if not (lost or paused):
                        name = names.get(client_id, "")
                        if client_id in reached:
                            done(_record_out_of_budget(engine, client_id, name, settings, dagster_run_id))
                        else:
                            one_pass(client_id)
                continue
            for result in outcome:
                done(result)
    for client_id in busy:
        if lost or paused:
            break
        if client_id not in results and client_id not in deferred:
            one_pass(client_id)
    idle = [c for c in ordered if due.get(c, 0) == 0]
    for start in range(0, len(idle), IDLE_BATCH):
        if stopped():
            break
        try:
            recorded = _record_idle_passes(engine, idle[start : start + IDLE_BATCH], names, settings, dagster_run_id)
        except Exception as exc:
            if is_paused_error(exc):
                paused.append("processing was paused while recording quiet clients' passes")
                break
            if not is_connection_loss(exc):
                raise
            lost.append(f"database connection lost recording quiet clients' passes: {error_text(exc)}")
            break
        for result, became_due in recorded:
            if lost or paused:
                break
            if became_due:
                one_pass(result.client_id)
            else:
                done(result)
    if deferred and not (lost or paused):
        say(f"{len(deferred)} client(s) whose lock another session held: retried now, for at most {lock_retry_s:g} s")
        retry_until.append(min(clock() + lock_retry_s, deadline))
        for client_id in deferred:
            one_pass(client_id)
    if idle and not (lost or paused):
        say(f"{len(idle)} client(s) had nothing due: their passes were recorded set-based")
    sweep.clients = [results[c] for c in ordered if c in results]
    if paused and not lost:
        sweep.not_reached = [c for c in ordered if c not in results]
        sweep.paused = (
            f"{paused[0]}; sweep stopped at a chunk boundary, {len(sweep.not_reached)} client(s) not reached "
            "(they go first after `campaign-ops resume`)"
        )
        say(sweep.paused)
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
            revoke_person(conn, [row.client_id for row in runs], [row.run_row_id for row in runs])
            # every due lead of those clients, their lead-log rows, counters and run rows: one statement
            rows = conn.execute(
                load_sql(__file__, "group_finish.sql"),
                {"client_ids": [row.client_id for row in runs], "run_ids": [row.run_row_id for row in runs]},
            ).all()
            if any(row.leads_de_enrolled for row in rows):
                settle_counters(conn, [row.run_row_id for row in rows])
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
            mark_interrupted(interrupted, exc)
            with contextlib.suppress(Exception), connect(engine) as conn:
                interrupted.run_row_id = start_run(conn, client_id, "running", settings, dagster_run_id)
                finish_run(conn, interrupted)
        raise
    return results


def _record_out_of_budget(
    engine: Engine, client_id: str, name: str, settings: DeEnrollmentSettings, dagster_run_id: str | None
) -> ClientResult:
    result = ClientResult(client_id=client_id, client_name=name, status="success")
    mark_partial(result, settings)
    with connect(engine) as conn:
        result.run_row_id = start_run(conn, client_id, "running", settings, dagster_run_id)
        finish_run(conn, result)
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
