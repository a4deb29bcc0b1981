"""Run rows tell the truth: interrupted passes, counts committed with their chunk, a database that goes away."""

import dagster as dg
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from campaign_ops.db.engine import make_engine
from campaign_ops.de_enrollment import core
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.sqlfiles import load_sql
from campaign_ops_tests.conftest import _admin_engine
from campaign_ops_tests.de_enrollment.conftest import make_client


def run_row(conn: Connection, run_id: str | None) -> dict:
    row = (
        conn.execute(
            text(
                "SELECT status, leads_de_enrolled, error_details,"
                " (SELECT count(*) FROM de_enrollment_lead_log l WHERE l.run_id = r.id AND l.action = 'de_enrolled')"
                " AS logged FROM de_enrollment_runs r WHERE id = :r"
            ),
            {"r": run_id},
        )
        .mappings()
        .one()
    )
    conn.commit()
    return dict(row)


def interrupt_after_chunk(n: int, exc: BaseException):
    def say(line: str) -> None:
        if f": chunk {n}:" in line:
            raise exc

    return say


@pytest.mark.parametrize(
    "exc",
    [KeyboardInterrupt(), dg.DagsterExecutionInterruptedError("terminated"), SystemExit(143)],
    ids=["KeyboardInterrupt", "DagsterExecutionInterruptedError", "SystemExit"],
)
def test_an_interrupted_pass_is_recorded_partial_with_what_committed_then_re_raised(
    conn: Connection, engine: Engine, exc: BaseException
) -> None:
    data = make_client(conn, due=20)
    conn.commit()
    with pytest.raises(type(exc)):
        de_enroll_clients(
            engine, [data.client_id], DeEnrollmentSettings(chunk_size=4), log_line=interrupt_after_chunk(2, exc)
        )
    [run_id] = conn.execute(
        text("SELECT id::text FROM de_enrollment_runs WHERE client_id = :c"), {"c": data.client_id}
    ).scalars()
    row = run_row(conn, run_id)
    # before: 'success' (the finally wrote the starting status) with 14 leads still due
    assert row["status"] == "partial"
    assert "interrupted" in row["error_details"] and type(exc).__name__ in row["error_details"]
    assert row["leads_de_enrolled"] == row["logged"] == 8
    # the lock was released: the next pass takes the client and finishes it
    again = de_enroll_clients(engine, [data.client_id], DeEnrollmentSettings(chunk_size=4)).clients[0]
    assert (again.status, again.leads_de_enrolled) == ("success", 14)


def test_interrupted_before_any_commit_is_failed(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=3)
    conn.commit()
    calls = [0]

    def clock() -> float:
        calls[0] += 1
        if calls[0] == 4:  # the pass's first budget check, before its first chunk
            raise KeyboardInterrupt
        return float(calls[0])

    with pytest.raises(KeyboardInterrupt):
        de_enroll_clients(engine, [data.client_id], DeEnrollmentSettings(max_runtime_ms=60_000), clock=clock)
    [row] = conn.execute(
        text("SELECT status, leads_de_enrolled, error_details FROM de_enrollment_runs WHERE client_id = :c"),
        {"c": data.client_id},
    ).all()
    assert (row.status, row.leads_de_enrolled) == ("failed", 0)
    assert row.error_details.startswith("interrupted (KeyboardInterrupt) after 0 committed chunk(s)")


def test_run_row_counts_are_committed_with_each_chunk(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=10)
    conn.commit()
    seen: list[tuple[int, int]] = []

    def say(line: str) -> None:
        if ": chunk " in line:  # another connection looks at the run row while the pass goes on
            with engine.connect() as other:
                r = other.execute(
                    text(
                        "SELECT leads_de_enrolled, (SELECT count(*) FROM de_enrollment_lead_log l"
                        " WHERE l.run_id = r.id AND l.action = 'de_enrolled')"
                        " FROM de_enrollment_runs r WHERE client_id = :c AND status = 'running'"
                    ),
                    {"c": data.client_id},
                ).one()
                seen.append((r[0], r[1]))

    de_enroll_clients(engine, [data.client_id], DeEnrollmentSettings(chunk_size=3), log_line=say)
    # before: the row said 0 until the pass ended (an abandoned row kept 0 although leads were committed)
    assert seen == [(3, 3), (6, 6), (9, 9), (12, 12)]


def test_a_lost_database_stops_the_sweep_and_the_clients_not_reached_go_first_next(
    admin_url: str, db_url: str, conn: Connection, engine: Engine
) -> None:
    clients = [make_client(conn, due=3) for _ in range(4)]
    conn.commit()
    name = make_url(db_url).database
    admin = _admin_engine(admin_url)
    lines: list[str] = []
    work = make_engine(db_url)

    def say(line: str) -> None:
        lines.append(line)
        if ": chunk 1:" in line and len([x for x in lines if ": chunk 1:" in x]) == 1:
            # the database goes away: no new connection, the open ones are ended
            with admin.connect() as a:
                a.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                a.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :d AND pid <> pg_backend_pid()"
                    ),
                    {"d": name},
                )

    try:
        ids = sorted(c.client_id for c in clients)
        sweep = de_enroll_clients(work, ids, DeEnrollmentSettings(chunk_size=2), log_line=say)
    finally:
        with admin.connect() as a:
            a.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        work.dispose()
    # before: every remaining client was tried and recorded failed with a connection error
    assert sweep.connection_lost is not None and "database connection lost" in sweep.connection_lost
    assert len(sweep.clients) == 1 and len(sweep.not_reached) == 3
    assert sum(1 for x in lines if "database connection lost" in x) == 1

    engine.dispose()
    with make_engine(db_url).connect() as c:
        order = [str(i) for i in c.execute(load_sql(core.__file__, "order_clients.sql"), {"client_ids": ids}).scalars()]
    assert order[:3] == sweep.not_reached


def test_a_chunk_whose_commit_fails_is_not_counted(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=10)
    # a deferred constraint trigger refuses the second chunk at COMMIT (as a crash during the commit would lose it)
    conn.execute(
        text(
            """
            CREATE FUNCTION refuse_second_chunk() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF (SELECT count(*) FROM de_enrollment_lead_log WHERE run_id = NEW.run_id) > 3 THEN
                    RAISE EXCEPTION 'commit refused';
                END IF;
                RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER refuse_second_chunk AFTER INSERT ON de_enrollment_lead_log
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_second_chunk();
            """
        )
    )
    conn.commit()
    r = de_enroll_clients(engine, [data.client_id], DeEnrollmentSettings(chunk_size=3)).clients[0]
    row = run_row(conn, r.run_row_id)
    # before: the refused chunk was counted (6 reported and stored while 3 committed)
    assert r.status == "failed" and "commit refused" in (r.error_details or "")
    assert r.leads_de_enrolled == row["leads_de_enrolled"] == row["logged"] == 3
    assert r.completed + r.opted_out + r.booked == 3  # the outcome split of the refused chunk is taken back too
