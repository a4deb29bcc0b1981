"""The two ways a sweep de-enrolls: a group of clients in one transaction, or one client's own pass.

A group (`group_pass`): every client of the group whose lock is free, in ONE transaction and a fixed family of
statements whatever its number of clients: their passes started (runs.start_passes), every due lead of the group
de-enrolled in one call of `de_enroll_leads` (group_finish.sql: one UPDATE … RETURNING feeding the lead log and an
incremental counter update, figures per client) which also closes each run row with its own figures, then the
counters of the campaigns it touched made to match their leads (`settle_counters`). A group that fails or runs out
of budget rolls back whole, and each of its clients then gets its own pass, which isolates a failing client and
records it by name.

A client's own pass (`de_enroll_one_client`: a one-client run, the first client whose pace a sweep measures, a
client with more due leads than a group may hold, or each client of a group that failed):

1. takes the client's advisory lock (session level, on its own connection) or records `skipped` when another
   worker holds it — different clients never block each other;
2. starts its pass (runs.start_passes: its `running` row, committed first so that a failure can be written on it);
3. de-enrolls in set-based chunks, one transaction each, so what is done is committed when the budget runs out
   (or, on the SOP's runbook path, in `process_de_enrollment_batch` batches); each chunk adds its figures to the
   run row in its own transaction, and chunks shrink to what the remaining budget allows at the measured pace;
4. closes the row (runs.record_pass): `success`, `partial` (budget exhausted) or `failed` (error_details). An
   interrupted pass (Terminate, run monitoring, SIGTERM, Ctrl-C: BaseExceptions) is closed `partial`/`failed`
   with reason `interrupted`, then the interruption goes on.
"""

import contextlib
import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, Engine

from campaign_ops.clients.locks import lock_holder, release_client_lock
from campaign_ops.clients.sweep import error_text
from campaign_ops.compliance.core import revoke_person
from campaign_ops.db.engine import connect
from campaign_ops.de_enrollment.budget import Budget, ClientLockHeld, hold_to, ran_out, take_client_lock
from campaign_ops.de_enrollment.runs import (
    ClientResult,
    LogCallback,
    is_connection_loss,
    mark_interrupted,
    mark_partial,
    mark_paused,
    record_pass,
    start_passes,
)
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.errors import error_line, is_paused_error
from campaign_ops.sqlfiles import load_sql

log = logging.getLogger(__name__)


def group_pass(
    engine: Engine,
    group: Sequence[str],
    names: dict[str, str],
    settings: DeEnrollmentSettings,
    budget: Budget,
    dagster_run_id: str | None,
    say: LogCallback,
    reached: list[str],
) -> list[ClientResult] | None:
    """Every client of the group whose lock is free, in ONE transaction: its run row, its leads, its counts.

    Returns nothing when the transaction rolled back on an error: the caller then gives each client its own
    pass. None when the budget ran out mid-group (rolled back too). Clients whose lock was held are not
    returned (their own pass records them skipped). `reached` lists the clients whose work had started.
    """
    started = budget.clock()
    results: list[ClientResult] = []
    try:
        with connect(engine) as conn, conn.begin():
            remaining_ms = int((budget.deadline - started) * 1000)
            if remaining_ms <= 0:
                return []
            hold_to(conn, remaining_ms)
            # locks, stale rows, evaluation and `running` rows of every client of the group: one statement
            runs = start_passes(conn, group, settings, dagster_run_id)
            reached.extend(row.client_id for row in runs)
            if not runs:
                return []
            # the de-enrollment statement gets what is left of the budget (it is cancelled and the group rolls
            # back when it runs out)
            remaining_ms = budget.remaining_ms()
            if remaining_ms <= 0:
                return None
            hold_to(conn, remaining_ms)
            client_ids, run_ids = [row.client_id for row in runs], [row.run_row_id for row in runs]
            revoked = revoke_person(conn, client_ids, run_ids)
            # every due lead of those clients, their lead-log rows, counters and run rows: one statement
            rows = conn.execute(
                load_sql(__file__, "group_finish.sql"),
                {"client_ids": client_ids, "run_ids": run_ids, "revoked": [revoked.get(c, 0) for c in client_ids]},
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
    except Exception as exc:  # rolled back whole: nothing of it is kept, each client gets its own pass
        if ran_out(exc):  # the budget ran out mid-group
            return None
        say(f"a group of {len(group)} client(s) rolled back ({error_text(exc)}); each gets its own pass")
        return []
    except BaseException as exc:  # Terminate, max runtime, Ctrl-C: nothing committed; record it, then go on
        for client_id in reached or list(group[:1]):
            interrupted = ClientResult(client_id=client_id, client_name=names.get(client_id, ""), status="success")
            mark_interrupted(interrupted, exc)
            with contextlib.suppress(Exception), connect(engine) as conn:
                record_pass(conn, interrupted, settings, dagster_run_id)
        raise
    return results


def de_enroll_one_client(
    engine: Engine,
    client_id: str,
    name: str,
    settings: DeEnrollmentSettings,
    budget: Budget,
    dagster_run_id: str | None,
    say: LogCallback,
) -> ClientResult:
    """One client's own pass (module doc). While the sweep goes on (`budget.lock_wait_until` unset), a held lock
    raises ClientLockHeld at once (nothing recorded) so that the sweep retries the client after the others; on
    that retry the lock is waited for until `budget.lock_wait_until`, then the pass is recorded `skipped`, naming
    the session that holds it."""
    clock = budget.clock
    started = clock()
    result = ClientResult(client_id=client_id, client_name=name, status="success")
    try:
        with connect(engine) as conn:
            if not take_client_lock(conn, client_id, budget.lock_wait_until, clock):
                if budget.lock_wait_until is None:
                    raise ClientLockHeld(client_id)
                result.status = "skipped"
                result.lock_held = True
                result.error_details = (
                    f"another session is working on this client ({lock_holder(conn, client_id)}); skipped, its due "
                    "leads are left for the next run"
                )
                return record_pass(conn, result, settings, dagster_run_id)
            interrupted: BaseException | None = None
            lost: Exception | None = None
            try:
                with conn.begin():
                    [run] = start_passes(conn, [client_id], settings, dagster_run_id)
                result.run_row_id, result.leads_evaluated, result.leads_skipped, result.error_details = run[1:]
                _de_enroll_in_chunks(conn, result, settings, budget, say)
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
                    _record_interrupted(engine, conn, result, settings, dagster_run_id)
                    raise interrupted
                if lost is not None:
                    raise lost  # recorded below on a new connection, if the server answers at all
                if result.run_row_id or not result.paused:  # a paused database refuses a new row
                    record_pass(conn, result, settings, dagster_run_id)
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
                record_pass(conn, result, settings, dagster_run_id)
        except Exception:  # the database is down: the Dagster layer and CLI still report the failure
            log.warning("could not record the failed pass of client %s", client_id)
    return result


def _record_interrupted(
    engine: Engine,
    conn: Connection,
    result: ClientResult,
    settings: DeEnrollmentSettings,
    dagster_run_id: str | None,
) -> None:
    """Close the interrupted pass's row (on its connection, else on a new one) and release the client's lock."""
    if result.run_row_id is None:
        return
    try:
        record_pass(conn, result, settings, dagster_run_id)
        release_client_lock(conn, result.client_id)
        conn.commit()
        return
    except Exception:
        conn.invalidate()  # a broken session also drops its advisory lock
    try:
        with connect(engine) as other:
            record_pass(other, result, settings, dagster_run_id)
    except Exception:
        log.warning("could not record the interrupted pass of client %s", result.client_id)


def _de_enroll_in_chunks(
    conn: Connection, result: ClientResult, settings: DeEnrollmentSettings, budget: Budget, say: LogCallback
) -> None:
    step = _sop_batch if settings.mode == "batched" else _set_based_chunk
    last_id: list[str | None] = [None]
    while True:
        remaining_ms = budget.remaining_ms()
        if remaining_ms <= 0:
            mark_partial(result, settings)
            return
        size = budget.pace.chunk_size(settings, remaining_ms)
        if settings.mode == "batched":
            size = min(settings.batch_size, size)
        chunk_started = budget.clock()
        try:
            with conn.begin():
                hold_to(conn, remaining_ms)  # cancelled when the budget runs out: the chunk rolls back
                revoked = revoke_person(conn, [result.client_id], [str(result.run_row_id)]).get(result.client_id, 0)
                (done, completed, opted_out, booked, newly_skipped), more = step(conn, result, last_id, size, revoked)
                if done:
                    settle_counters(conn, [result.run_row_id])
        except BaseException as exc:  # nothing of this chunk committed
            if ran_out(exc):
                mark_partial(result, settings)  # the budget ran out mid-chunk
                return
            if is_paused_error(exc):  # the database refused this chunk: processing was paused
                mark_paused(result, error_line(exc))
                return
            raise
        result.chunks += 1
        result.leads_de_enrolled += done
        result.completed += completed
        result.opted_out += opted_out
        result.booked += booked
        result.leads_skipped += newly_skipped
        result.already_de_enrolled += newly_skipped
        budget.pace.observe(done + newly_skipped, (budget.clock() - chunk_started) * 1000)
        if done:
            say(
                f"client {result.client_name or result.client_id}: chunk {result.chunks}: "
                f"{done} de-enrolled ({result.leads_de_enrolled} so far)"
            )
        if not more:
            return


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


def _set_based_chunk(
    conn: Connection, result: ClientResult, _last: list[str | None], size: int, revoked: int
) -> tuple[Sequence[int], bool]:
    """The chunk's figures (de-enrolled, completed, opted out, booked, left alone as already de-enrolled) and
    whether more may be due: one statement, which also adds them, and the leads its revocation step revoked, to the
    run row."""
    row = conn.execute(
        load_sql(__file__, "de_enroll_chunk.sql"),
        {"client_id": result.client_id, "run_id": result.run_row_id, "chunk_size": size, "revoked": revoked},
    ).one()
    return row, row.de_enrolled + row.already_de_enrolled >= size


def _sop_batch(
    conn: Connection, result: ClientResult, last_id: list[str | None], size: int, revoked: int
) -> tuple[Sequence[int], bool]:
    """One SOP batch (get_leads_for_de_enrollment, process_de_enrollment_batch): its figures, as a chunk's, and
    the leads its revocation step revoked, added to the run row, and whether more may be due."""
    ids = list(
        conn.execute(
            load_sql(__file__, "next_sop_batch.sql"),
            {"client_id": result.client_id, "batch_size": size, "last_id": last_id[0]},
        ).scalars()
    )
    if not ids and not revoked:
        return (0, 0, 0, 0, 0), False
    if ids:
        conn.execute(load_sql(__file__, "process_sop_batch.sql"), {"run_id": result.run_row_id, "lead_ids": ids})
        last_id[0] = ids[-1]
    # the batch function returns only the total; the outcome split and the skipped leads come from the lead log
    row = conn.execute(
        load_sql(__file__, "sop_batch_outcomes.sql"), {"run_id": result.run_row_id, "ids": ids, "revoked": revoked}
    ).one()
    return row, len(ids) >= size
