"""SOP Level 3, "stop processing immediately": the pause as a fact of the application database.

A pause is a row of `processing_pauses` (sql/0045_baseline.sql): who, why, since when, and which schedules and
sensors it
stopped; resuming closes the row, which stays as history. The database enforces it: while a pause is in force,
every statement that writes a table only campaign-ops writes (the lead log, new de-enrollment run rows, the
reconciliation log, the archives) fails with SQLSTATE `PAUSE` and one message naming who paused and how to
resume. Every writing path changes those tables in the transaction of its lead and counter changes, so nothing
writes while paused — the CLI, a Dagster run, or an operator calling the SOP's functions in psql.

The writing commands and jobs also call `refuse_if_paused` at their door, to refuse in one line before doing
anything; a pass already in flight meets the database's refusal at its next chunk or group, and stops there.

`record_pause` commits the row, then `wait_for_writers` waits (bounded) until every transaction that passed the
check before the pause has ended and no other session holds a client's lock: when it returns empty, nothing
commits lead or campaign data any more.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from campaign_ops.errors import ProcessingPaused
from campaign_ops.sqlfiles import load_sql

RESUME_HINT = "Resume with `campaign-ops resume`, or in the Dagster UI launch resume_processing_job"


@dataclass(frozen=True)
class Pause:
    id: int
    by: str
    reason: str
    at: datetime
    stopped: tuple[str, ...] = ()

    def line(self) -> str:
        at = self.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"paused by {self.by} at {at}" + (f": {self.reason}" if self.reason else "")

    def refusal(self) -> str:
        return f"processing is paused ({self.line()}); nothing was changed. {RESUME_HINT}"


def _pause(row: object) -> Pause:
    return Pause(
        int(row.id),  # type: ignore[attr-defined]
        str(row.paused_by),  # type: ignore[attr-defined]
        str(row.reason),  # type: ignore[attr-defined]
        row.paused_at,  # type: ignore[attr-defined]
        tuple(row.stopped_automations or ()),  # type: ignore[attr-defined]
    )


def current_pause(conn: Connection) -> Pause | None:
    """The pause in force, or None."""
    row = conn.execute(load_sql(__file__, "current_pause.sql")).one_or_none()
    return None if row is None else _pause(row)


def refuse_if_paused(conn: Connection) -> None:
    """At the door of every writing command and job: while paused, one line, nothing done."""
    pause = current_pause(conn)
    if pause is not None:
        raise ProcessingPaused(pause.refusal())


def record_pause(conn: Connection, *, by: str, reason: str) -> tuple[Pause, bool]:
    """Put a pause in force and commit it (writes are refused from here on); (the pause, whether it is new —
    False when one was in force already, which is then returned unchanged)."""
    _end_transaction(conn)
    with conn.begin():
        new = conn.execute(load_sql(__file__, "record_pause.sql"), {"by": by, "reason": reason}).scalar()
        pause = current_pause(conn)
    assert pause is not None
    return pause, new is not None


def record_stopped(conn: Connection, pause: Pause, names: Sequence[str]) -> None:
    """Note on the pause the schedules and sensors it stopped (resume starts exactly these)."""
    if names:
        _end_transaction(conn)
        with conn.begin():
            conn.execute(load_sql(__file__, "record_stopped.sql"), {"id": pause.id, "names": list(names)})


def record_resume(conn: Connection, *, by: str) -> Pause | None:
    """Lift the pause in force (None when there was none)."""
    _end_transaction(conn)
    with conn.begin():
        row = conn.execute(load_sql(__file__, "record_resume.sql"), {"by": by}).one_or_none()
    return None if row is None else _pause(row)


@dataclass(frozen=True)
class Writer:
    """Another session still writing: its pid, since when, and what it holds."""

    pid: int
    since: datetime
    application: str
    holding: str

    def line(self) -> str:
        app = f" ({self.application})" if self.application else ""
        since = self.since.astimezone(UTC)
        return f"session {self.pid}{app}, since {since:%Y-%m-%d %H:%M:%S} UTC: {self.holding}"


@dataclass
class WriterWait:
    still_writing: list[Writer] = field(default_factory=list)
    waited_ms: int = 0


def wait_for_writers(conn: Connection, *, timeout_s: float, poll_s: float = 0.05) -> WriterWait:
    """Wait (at most `timeout_s`) until no transaction that passed the pause's check is open and no other session
    holds a client's lock; what is still writing after that is returned, by session."""
    started = time.monotonic()
    deadline = started + timeout_s
    _end_transaction(conn)
    with conn.begin():
        # every writer that passed the check holds its lock shared until it ends; this waits for all of them
        conn.execute(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": str(max(1, int(timeout_s * 1000)))})
        try:
            with conn.begin_nested():
                conn.execute(text("SELECT pg_advisory_xact_lock(processing_pause_lock_key())"))
        except DBAPIError as exc:
            if getattr(exc.orig, "pgcode", None) != "55P03":  # lock_not_available: the bounded wait ran out
                raise
    writers = _writers(conn)
    while writers and time.monotonic() < deadline:
        # passes in flight meet the refusal at their next chunk, close their run row and release the lock
        time.sleep(poll_s)
        writers = _writers(conn)
    return WriterWait(writers, int((time.monotonic() - started) * 1000))


def _end_transaction(conn: Connection) -> None:
    # a read left open by the caller (autobegin) must not hold its snapshot across the pause's own transactions
    if conn.in_transaction():
        conn.rollback()


def _writers(conn: Connection) -> list[Writer]:
    rows = conn.execute(load_sql(__file__, "writers.sql")).all()
    conn.rollback()
    return [Writer(int(r.pid), r.since, str(r.application_name or ""), str(r.holding)) for r in rows]
