"""De-enrollment: end the enrollment of leads that finished their sequence, opted out or booked a meeting.

The rules live in one SQL function, `de_enroll_leads` (sql/objects/de_enroll_leads.sql; `de_enroll_client_leads`
is its one-client form). This module is the sweep: which clients to work on, in which order and by which path. How
a group of clients or one client is de-enrolled is `passes.py`; the run rows that record every pass are `runs.py`;
the runtime budget, the pace and the client locks are `budget.py`; the settings `settings.py`.

Clients are taken in fair order (the one whose last real progress is oldest first, order_clients.sql). A lost
database connection stops the sweep at once (`SweepResult.connection_lost`); the clients not reached keep their old
progress time and so go first next time.

A due lead whose enrollment was already de-enrolled (live or archived lead log, no later `restored` entry) is
left as it is and recorded once as `skipped` (the guard); `skipped.resolve_skipped` records an operator's
decision.

Cost follows the work, not the clients (a per-client pass costs round trips and commits even when nothing is due):
one statement first counts every client's due leads (`triage_clients.sql`). Clients with nothing due get their
pass recorded set-based (runs.record_idle_passes), a few hundred clients per statement. Clients with due leads are
worked in groups, one transaction and a fixed family of statements per group whatever its number of clients
(passes.group_pass). A client with more due leads than a group may hold, and each client of a group that failed or
ran out of budget, gets its own pass.

Two paths give identical results (a test compares them): the default set-based path (one statement per chunk of
up to `chunk_size` leads) and the SOP's runbook path (`get_leads_for_de_enrollment` batches of `batch_size`
ordered by id, each applied by `process_de_enrollment_batch`), kept so operators' runbooks keep working.
"""

import logging
import time
from collections.abc import Sequence

from sqlalchemy import Engine

from campaign_ops.clients.partition_keys import client_names
from campaign_ops.clients.sweep import error_text
from campaign_ops.db.engine import connect
from campaign_ops.de_enrollment.budget import Budget, ClientLockHeld, Clock
from campaign_ops.de_enrollment.passes import de_enroll_one_client, group_pass
from campaign_ops.de_enrollment.runs import (
    ClientResult,
    LogCallback,
    ProgressCallback,
    SweepResult,
    describe,
    is_connection_loss,
    mark_partial,
    record_idle_passes,
    record_pass,
)
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
    budget = Budget(started + settings.max_runtime_ms / 1000, clock)
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

    def record(result: ClientResult) -> ClientResult:
        with connect(engine) as conn:
            return record_pass(conn, result, settings, dagster_run_id)

    def one_pass(client_id: str) -> None:
        if stopped():
            return
        name = names.get(client_id, "")
        if clock() >= budget.deadline:
            try:
                result = record(
                    ClientResult(
                        client_id,
                        name,
                        "partial",
                        error_details=f"not reached within the runtime budget ({settings.max_runtime_ms} ms); "
                        "goes first next run",
                    )
                )
            except Exception as exc:
                if not is_connection_loss(exc):
                    raise
                result = ClientResult(client_id, name, "failed", error_details=error_text(exc))
                result.connection_lost = True
        else:
            try:
                result = de_enroll_one_client(engine, client_id, name, settings, budget, dagster_run_id, say)
            except ClientLockHeld:
                deferred.append(client_id)
                return
        done(result)

    busy = [c for c in ordered if due.get(c, 0) > 0]
    if settings.mode == "set_based":
        queue = list(busy)
        while queue and not stopped():
            now = clock()
            if now >= budget.deadline:
                break
            # a group holds as many due leads as the budget allows at the pace measured so far (few at first),
            # each client's part at most one chunk
            group = _next_group(
                queue, due, budget.pace.group_leads(settings, int((budget.deadline - now) * 1000)), settings.chunk_size
            )
            if not group:
                # more due leads than the group may hold: its own pass works it now, in budget-fitted chunks, and
                # measures the pace the next groups are sized by (deferred, every client of a sweep whose clients
                # all have more than the first chunk would get its own pass)
                one_pass(queue.pop(0))
                continue
            del queue[: len(group)]
            reached: list[str] = []
            group_started = now
            outcome = group_pass(engine, group, names, settings, budget, dagster_run_id, say, reached)
            if outcome:
                budget.pace.observe(sum(r.leads_de_enrolled for r in outcome), (clock() - group_started) * 1000)
            if outcome is None:  # the budget ran out inside the group: rolled back, its clients are partial
                for client_id in group:
                    if not (lost or paused):
                        name = names.get(client_id, "")
                        if client_id in reached:
                            out_of_budget = ClientResult(client_id=client_id, client_name=name, status="success")
                            mark_partial(out_of_budget, settings)
                            done(record(out_of_budget))
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
            recorded = record_idle_passes(engine, idle[start : start + IDLE_BATCH], names, settings, dagster_run_id)
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
        budget.lock_wait_until = min(clock() + lock_retry_s, budget.deadline)
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
