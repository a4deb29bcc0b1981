"""A sweep's time and lock budget: the deadline every statement is held to, the pace chunks and groups are sized by,
and how long a client's lock is waited for.

`Budget.clock` (seconds, monotonic) is injectable so that tests run a budget deterministically; each reading of it
is one `clock()` call, so the code reads it only where a decision needs the time.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.sqlfiles import load_sql

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
        the leads table holds leads of many clients, so each group reads about the whole table, and fewer, bigger
        groups cost less."""
        if self.ms_per_lead is None:
            return min(settings.chunk_size, FIRST_CHUNK_SIZE)
        return max(1, int(remaining_ms * BUDGET_SHARE / max(self.ms_per_lead, 1e-3)))

    def observe(self, leads: int, elapsed_ms: float) -> None:
        if leads > 0:
            measured = elapsed_ms / leads
            self.ms_per_lead = measured if self.ms_per_lead is None else max(measured, self.ms_per_lead * 0.5)


@dataclass
class Budget:
    """One sweep's budget: its deadline on `clock`, the pace measured so far, and until when a client's held lock
    is waited for (None while the sweep goes on: such a client is retried after all the others)."""

    deadline: float
    clock: Clock = time.monotonic
    pace: Pace = field(default_factory=Pace)
    lock_wait_until: float | None = None

    def remaining_ms(self) -> int:
        return int((self.deadline - self.clock()) * 1000)


def hold_to(conn: Connection, remaining_ms: int) -> None:
    """In the caller's transaction: a statement may not outlive the budget (it is cancelled and the transaction
    rolls back: `ran_out`)."""
    conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(remaining_ms)})


def ran_out(exc: BaseException) -> bool:
    """The statement was cancelled by the budget's statement_timeout (query_canceled)."""
    return isinstance(exc, OperationalError) and getattr(exc.orig, "pgcode", None) == "57014"


class ClientLockHeld(Exception):
    """Another session holds the client's lock and the sweep retries the client later rather than record
    `skipped`."""


def take_client_lock(conn: Connection, client_id: str, wait_until: float | None, clock: Clock) -> bool:
    """The client's session lock, trying until `wait_until` (clock seconds; None: one try)."""
    while True:
        locked = bool(conn.execute(load_sql(__file__, "try_client_lock.sql"), {"client_id": client_id}).scalar())
        conn.commit()
        if locked or wait_until is None or clock() >= wait_until:
            return locked
        time.sleep(0.1)
