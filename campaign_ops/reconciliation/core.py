"""Stats reconciliation: find campaign counters that drifted from the leads, log every drift, then correct it.

The SOP's "Fix Stats if Minor" recomputes counters blindly, for every campaign of every client, and keeps no
record. Here, per client:

1. wait for the client's advisory lock (session level, `client_lock_key`, shared with de-enrollment; waiting is
   bounded by `lock_timeout`, so a busy client fails clearly instead of hanging). De-enrollment only *tries* that
   lock and skips the client while we hold it, so the two never run on one client at once and never deadlock;
2. in ONE transaction: lock the client's campaigns in id order, insert every drifting counter (campaign, counter,
   reported, actual, Dagster run id) into `stats_reconciliation_log`, then set exactly those counters to the
   logged actual values. Any error rolls all of it back.

Actual figures come from the SQL function `campaign_counter_drift` (sql/0023), with the definitions of
`refresh_campaign_counters`: active = is_active AND NOT opted_out, completed = completed_at IS NOT NULL,
opted out, booked. Everything is set-based inside PostgreSQL; only the drifting counters reach Python.

A dry run computes the same drift (one read-only statement, no lock needed: it changes nothing) and writes
nothing at all — no campaign update and no log row — because the issue asks that it "reports without changing
anything"; its findings are returned (CLI output, Dagster observation metadata).
"""

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from campaign_ops.clients import partition_keys
from campaign_ops.clients.locks import lock_holder, release_client_lock
from campaign_ops.clients.scope import require_clients
from campaign_ops.clients.sweep import ClientFailure, each_client
from campaign_ops.db.engine import connect
from campaign_ops.errors import CampaignOpsError, ConfigError
from campaign_ops.pause.core import refuse_if_paused
from campaign_ops.sqlfiles import load_sql

DEFAULT_LOCK_TIMEOUT_SECONDS = 120.0
# over several clients, a busy client's first try: then it goes last, waited for with the full lock timeout
BUSY_FIRST_TRY_SECONDS = 1.0
# the busy clients' wait is taken in this many slices, each ending in a log line naming who holds the lock
WAIT_SLICES = 8
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout expires


class ClientBusyError(CampaignOpsError):
    """The client's lock stayed held (by de-enrollment or another reconciliation) longer than the lock timeout."""


class ReconciliationMismatchError(CampaignOpsError):
    """The correction did not touch exactly the campaigns that were logged; the transaction is rolled back."""


@dataclass(frozen=True)
class ReconciliationSettings:
    dry_run: bool = False
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if isinstance(self.lock_timeout_seconds, bool) or not isinstance(self.lock_timeout_seconds, int | float):
            raise ConfigError(f"lock_timeout_seconds must be a number, got {self.lock_timeout_seconds!r}")
        if not 0 < self.lock_timeout_seconds <= 3600:
            raise ConfigError(f"lock_timeout_seconds must be in (0, 3600], got {self.lock_timeout_seconds!r}")

    @property
    def lock_timeout_ms(self) -> int:
        return max(1, int(self.lock_timeout_seconds * 1000))


@dataclass(frozen=True)
class CounterDrift:
    campaign_id: str
    campaign_name: str
    counter: str
    reported: int
    actual: int

    @property
    def difference(self) -> int:
        """actual - reported: positive when the campaign under-reports."""
        return self.actual - self.reported


@dataclass(frozen=True)
class ClientReconciliation:
    """One client's reconciliation (or dry run) that completed."""

    client_id: str
    client_name: str
    dry_run: bool
    campaigns_checked: int
    drifts: tuple[CounterDrift, ...]
    campaigns_corrected: int  # 0 on a dry run
    reconciliation_id: str | None  # groups the log rows; None on a dry run
    duration_ms: int

    @property
    def campaigns_drifted(self) -> int:
        return len({d.campaign_id for d in self.drifts})

    @property
    def total_abs_difference(self) -> int:
        return sum(abs(d.difference) for d in self.drifts)

    @property
    def largest_difference(self) -> int:
        """The largest absolute difference of one counter (0 when nothing drifted)."""
        return max((abs(d.difference) for d in self.drifts), default=0)


@dataclass
class ReconciliationSweep:
    results: list[ClientReconciliation] = field(default_factory=list)
    failures: list[ClientFailure] = field(default_factory=list)
    duration_ms: int = 0

    @property
    def campaigns_checked(self) -> int:
        return sum(r.campaigns_checked for r in self.results)

    @property
    def campaigns_drifted(self) -> int:
        return sum(r.campaigns_drifted for r in self.results)

    @property
    def total_abs_difference(self) -> int:
        return sum(r.total_abs_difference for r in self.results)

    @property
    def largest_difference(self) -> int:
        return max((r.largest_difference for r in self.results), default=0)


def prepare_clients(engine: Engine, client_ids: Sequence[str]) -> dict[str, str]:
    """Validate every id before any work (uuid, existing, active: else one UnknownClientError, nothing changed);
    returns {client id: company name} in the given order."""
    with connect(engine) as conn:
        ids = require_clients(conn, client_ids)
        names = partition_keys.client_names(conn, ids)
        conn.rollback()
    return {c: names[c] for c in ids}


def iter_reconcile_clients(
    engine: Engine,
    clients: dict[str, str],
    settings: ReconciliationSettings,
    *,
    dagster_run_id: str | None = None,
    say: Callable[[str], object] | None = None,
) -> Iterator[ClientReconciliation | ClientFailure]:
    """Reconcile validated clients one by one (each on its own connection), yielding each outcome as it ends.

    One client's failure (busy lock, database error) is yielded as a ClientFailure and the others go on. Over
    several clients, a client whose lock is held (de-enrollment works on it) is not waited for in turn: it is
    tried for at most BUSY_FIRST_TRY_SECONDS, put last (`say` tells why), and waited for only once every other
    client is done, all busy clients together within the lock timeout, `say` naming who holds each lock as the
    wait goes on: one busy client does not hold up the rest, nor in silence.
    """

    def work(settings_now: ReconciliationSettings) -> Callable[[Connection, str, str], ClientReconciliation]:
        return lambda conn, client_id, name: reconcile_client(
            conn, client_id, settings_now, client_name=name, dagster_run_id=dagster_run_id
        )

    if len(clients) == 1 or settings.dry_run:  # nothing to go ahead with; a dry run takes no lock
        yield from each_client(engine, clients, work(settings))
        return
    first_try = dataclasses.replace(
        settings, lock_timeout_seconds=min(BUSY_FIRST_TRY_SECONDS, settings.lock_timeout_seconds)
    )
    busy: dict[str, str] = {}

    def try_quickly(conn: Connection, client_id: str, name: str) -> ClientReconciliation | None:
        try:
            return work(first_try)(conn, client_id, name)
        except ClientBusyError:
            busy[client_id] = name
            if say is not None:
                say(f"client {name} ({client_id}) is busy (its lock is held): tried again after the others")
            return None

    for outcome in each_client(engine, clients, try_quickly):
        if outcome is not None:
            yield outcome
    if not busy:
        return
    # the busy clients share ONE wait of the lock timeout: n busy clients never hold the run n times as long, and
    # every slice of it says in the run's log who still holds which lock
    budget = settings.lock_timeout_seconds
    deadline = time.monotonic() + budget
    if say is not None:
        say(f"{len(busy)} busy client(s): waiting up to {budget:g} s in all for their locks")

    def wait_then_work(conn: Connection, client_id: str, name: str) -> ClientReconciliation:
        while True:  # one try at least, however much of the wait the busy clients before it used
            left = deadline - time.monotonic()
            slice_ = dataclasses.replace(settings, lock_timeout_seconds=max(0.001, min(left, budget / WAIT_SLICES)))
            try:
                return work(slice_)(conn, client_id, name)
            except ClientBusyError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ClientBusyError(f"{_busy_text(client_id, budget)}; {lock_holder(conn, client_id)}") from None
                if say is not None:
                    holder = lock_holder(conn, client_id)
                    say(f"still waiting for client {name} ({client_id}), {left:.0f} s left: {holder}")

    yield from each_client(engine, busy, wait_then_work)


def reconcile_clients(
    engine: Engine,
    client_ids: Sequence[str],
    settings: ReconciliationSettings,
    *,
    dagster_run_id: str | None = None,
) -> ReconciliationSweep:
    """Validate, then reconcile every client; failures are collected, never raised (see `iter_reconcile_clients`)."""
    started = time.monotonic()
    if not settings.dry_run:  # a dry run writes nothing: it stays available while paused
        with connect(engine) as conn:
            refuse_if_paused(conn)
    sweep = ReconciliationSweep()
    for outcome in iter_reconcile_clients(
        engine, prepare_clients(engine, client_ids), settings, dagster_run_id=dagster_run_id
    ):
        (sweep.failures if isinstance(outcome, ClientFailure) else sweep.results).append(outcome)  # type: ignore[arg-type]
    sweep.duration_ms = int((time.monotonic() - started) * 1000)
    return sweep


def reconcile_client(
    conn: Connection,
    client_id: str,
    settings: ReconciliationSettings,
    *,
    client_name: str = "",
    dagster_run_id: str | None = None,
) -> ClientReconciliation:
    """Reconcile one (validated) client on `conn`, which must not be inside a transaction; see the module doc."""
    started = time.monotonic()
    params = {"client_id": client_id}
    if settings.dry_run:
        with conn.begin():
            checked = conn.execute(load_sql(__file__, "count_campaigns.sql"), params).scalar_one()
            drifts = _drifts(conn.execute(load_sql(__file__, "drift.sql"), params))
        return ClientReconciliation(
            client_id, client_name, True, checked, drifts, 0, None, int((time.monotonic() - started) * 1000)
        )

    _wait_for_client_lock(conn, client_id, settings)
    try:
        reconciliation_id = str(uuid.uuid4())
        run_params = {**params, "reconciliation_id": reconciliation_id, "dagster_run_id": dagster_run_id}
        with conn.begin():
            _set_local_lock_timeout(conn, settings)
            checked = conn.execute(load_sql(__file__, "lock_campaigns.sql"), params).scalar_one()
            conn.execute(load_sql(__file__, "log_drift.sql"), run_params)
            drifts = _drifts(conn.execute(load_sql(__file__, "logged_drift.sql"), run_params))
            corrected = len(conn.execute(load_sql(__file__, "correct_counters.sql"), run_params).all())
            drifted = len({d.campaign_id for d in drifts})
            if corrected != drifted:
                raise ReconciliationMismatchError(
                    f"client {client_id}: {drifted} campaigns logged as drifted but {corrected} corrected; rolled back"
                )
    finally:
        _release_client_lock(conn, client_id)
    return ClientReconciliation(
        client_id,
        client_name,
        False,
        checked,
        drifts,
        corrected,
        reconciliation_id if drifts else None,
        int((time.monotonic() - started) * 1000),
    )


def _drifts(rows: object) -> tuple[CounterDrift, ...]:
    return tuple(
        CounterDrift(r.campaign_id, r.campaign_name, r.counter, r.reported, r.actual)
        for r in rows  # type: ignore[attr-defined]
    )


def _set_local_lock_timeout(conn: Connection, settings: ReconciliationSettings) -> None:
    # transaction-local: a pooled connection goes back to the pool with its usual settings
    conn.execute(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{settings.lock_timeout_ms}ms"})


def _wait_for_client_lock(conn: Connection, client_id: str, settings: ReconciliationSettings) -> None:
    try:
        with conn.begin():  # the advisory lock is session level: it outlives this short transaction
            _set_local_lock_timeout(conn, settings)
            conn.execute(load_sql(__file__, "lock_client.sql"), {"client_id": client_id})
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) == LOCK_NOT_AVAILABLE:
            raise ClientBusyError(_busy_text(client_id, settings.lock_timeout_seconds)) from None
        raise


def _busy_text(client_id: str, seconds: float) -> str:
    return (
        f"client {client_id} is busy: its lock (de-enrollment or another reconciliation) was not released within "
        f"{seconds:g} s; nothing changed, try again later"
    )


def _release_client_lock(conn: Connection, client_id: str) -> None:
    try:
        if conn.in_transaction():
            conn.rollback()
        release_client_lock(conn, client_id)
        conn.commit()
    except Exception:
        # a broken connection: closing it for good makes the server release the session lock,
        # and the error that broke it (if any) is the one worth reporting
        conn.invalidate()
