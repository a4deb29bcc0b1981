"""Fair order under a runtime budget: every due client progresses over a few runs; chunks fit the budget."""

from sqlalchemy import Connection, Engine, text

from campaign_ops.de_enrollment.budget import Pace
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops_tests.de_enrollment.conftest import make_client


class StepClock:
    """A monotonic clock that advances a fixed step at every reading: a budget then covers a fixed amount of work,
    whatever the machine's speed."""

    def __init__(self, step_s: float) -> None:
        self.now, self.step = 0.0, step_s

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_every_due_client_progresses_over_budget_limited_runs(conn: Connection, engine: Engine) -> None:
    clients = [make_client(conn, due=10) for _ in range(4)]
    conn.commit()
    ids = sorted(c.client_id for c in clients)
    settings = DeEnrollmentSettings(chunk_size=2, max_runtime_ms=150)
    first_in_run = []
    for _ in range(4):  # the issue's `de-enroll --all --chunk-size 2 --max-runtime 150`, four times
        sweep = de_enroll_clients(engine, ids, settings, clock=StepClock(0.01))
        first_in_run.append(sweep.clients[0].client_id)
        assert sweep.clients[0].leads_de_enrolled > 0 and sweep.clients[0].status == "partial"
    done = dict(
        conn.execute(
            text(
                "SELECT client_id::text, sum(leads_de_enrolled) FROM de_enrollment_runs"
                " WHERE client_id = ANY(CAST(:ids AS uuid[])) GROUP BY client_id"
            ),
            {"ids": ids},
        ).all()
    )
    # before: the uuid-first partial client went first every run and used the whole budget; three never progressed
    assert sorted(first_in_run) == ids
    assert all(done[c] > 0 for c in ids), done


def test_a_finished_client_goes_after_one_never_reached(conn: Connection, engine: Engine) -> None:
    a, b = make_client(conn, due=2), make_client(conn, due=2)
    conn.commit()
    ids = sorted([a.client_id, b.client_id])
    de_enroll_clients(engine, [ids[0]], DeEnrollmentSettings())  # ids[0] finished: success
    sweep = de_enroll_clients(engine, ids, DeEnrollmentSettings())
    assert [c.client_id for c in sweep.clients] == [ids[1], ids[0]]


def test_chunks_shrink_to_fit_the_remaining_budget() -> None:
    settings = DeEnrollmentSettings(chunk_size=50_000)
    pace = Pace()
    first = pace.chunk_size(settings, remaining_ms=100)
    assert first == 100  # before any measurement: a small first chunk, not the whole 50 000
    pace.observe(100, 50.0)  # 0.5 ms per lead
    assert pace.chunk_size(settings, remaining_ms=100) == 100  # half the remaining 100 ms at 0.5 ms/lead
    assert pace.chunk_size(settings, remaining_ms=1) == 1  # always at least one lead: progress
    assert pace.chunk_size(settings, remaining_ms=10_000_000) == 50_000  # never above the configured size


def test_a_chunk_bigger_than_the_whole_budget_still_makes_progress(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=4000)
    # each updated lead sleeps 1 ms: the configured 5000-lead chunk (all 4000 due) cannot fit a 3 s budget
    conn.execute(
        text(
            """
            CREATE FUNCTION slow_rows() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(0.001); RETURN NULL; END $$;
            CREATE TRIGGER slow_rows AFTER UPDATE ON leads FOR EACH ROW EXECUTE FUNCTION slow_rows();
            """
        )
    )
    conn.commit()
    r = de_enroll_clients(engine, [data.client_id], DeEnrollmentSettings(chunk_size=5000, max_runtime_ms=3000))
    result = r.clients[0]
    # before: the one 4000-lead statement was cancelled at the budget: partial with 0 de-enrolled, every run
    assert result.status == "partial" and result.leads_de_enrolled > 0
