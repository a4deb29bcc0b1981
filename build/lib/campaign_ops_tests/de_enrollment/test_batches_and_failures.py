"""Batching, the two paths' equivalence, the runtime budget and error recovery."""

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from campaign_ops.db.engine import make_engine
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.errors import ConfigError
from campaign_ops_tests.conftest import create_database, drop_database
from campaign_ops_tests.de_enrollment.conftest import make_client, run, snapshot
from campaign_ops_tests.factories import add_campaign, add_client, add_lead

COMPARABLE_OUTCOME = """
SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
  SELECT concat_ws(',', id, is_active, completed_at IS NOT NULL,
                   (SELECT string_agg(concat_ws(':', e->>'campaign_id', e->>'outcome', e->>'messages_received'), ',')
                      FROM jsonb_array_elements(campaign_history) e)) AS x FROM leads
  UNION ALL SELECT concat_ws(',', id, active_leads_count, completed_leads_count, opted_out_count, booked_count)
              FROM campaigns
  UNION ALL SELECT concat_ws(',', lead_id, outcome, messages_received) FROM de_enrollment_lead_log) t
"""


def test_chunks_smaller_than_the_work_process_everything(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=23)
    conn.commit()
    r = run(engine, data.client_id, chunk_size=5).clients[0]
    assert (r.status, r.leads_de_enrolled, r.chunks) == ("success", 25, 6)  # 5+5+5+5+5, then an empty check


def test_sop_batched_path_processes_in_batches_of_batch_size(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=18)
    conn.commit()
    r = run(engine, data.client_id, mode="batched", batch_size=7).clients[0]
    assert (r.status, r.leads_de_enrolled, r.chunks) == ("success", 20, 3)
    assert (r.completed, r.opted_out, r.booked) == (18, 1, 1)


def test_set_based_and_sop_batched_paths_give_identical_results(admin_url: str, db_url: str, engine: Engine) -> None:
    with engine.begin() as c:
        seed_demo_data(c, clients=3, campaigns_per_client=4, leads=2500, seed=21)
    source_name = make_url(db_url).database  # embedded-server URLs end in ?host=…
    twin_name = f"{source_name}_twin"
    engine.dispose()
    twin_url = create_database(admin_url, twin_name, template=source_name)
    twin = make_engine(twin_url)
    try:
        with engine.connect() as c:
            ids = [str(i) for i in c.execute(text("SELECT id FROM clients WHERE is_active ORDER BY id")).scalars()]
        fast = de_enroll_clients(engine, ids, DeEnrollmentSettings())
        sop = de_enroll_clients(twin, ids, DeEnrollmentSettings(mode="batched", batch_size=100))
        assert fast.leads_de_enrolled == sop.leads_de_enrolled > 500
        with engine.connect() as a, twin.connect() as b:
            assert a.execute(text(COMPARABLE_OUTCOME)).scalar() == b.execute(text(COMPARABLE_OUTCOME)).scalar()
    finally:
        twin.dispose()
        drop_database(admin_url, twin_name)


def test_a_failure_mid_run_leaves_no_half_applied_batch_and_the_next_run_completes(
    conn: Connection, engine: Engine
) -> None:
    broken, healthy = make_client(conn, due=6), make_client(conn, due=2)
    # the 4th lead-log row of the broken client fails: its whole chunk must roll back
    conn.execute(
        text(
            """
            CREATE FUNCTION fail_on_fourth() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF (SELECT count(*) FROM de_enrollment_lead_log WHERE client_id = NEW.client_id) >= 3 THEN
                RAISE EXCEPTION 'disk on fire';
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER fail_on_fourth BEFORE INSERT ON de_enrollment_lead_log
              FOR EACH ROW WHEN (NEW.client_id = '"""
            + broken.client_id
            + """') EXECUTE FUNCTION fail_on_fourth();
            """
        )
    )
    conn.commit()
    before_broken = snapshot(conn, broken.client_id)
    result = run(engine, broken.client_id, healthy.client_id)
    status = {r.client_id: r for r in result.clients}
    assert status[broken.client_id].status == "failed"
    assert "disk on fire" in status[broken.client_id].error_details
    assert status[healthy.client_id].status == "success" and status[healthy.client_id].leads_de_enrolled == 4
    assert snapshot(conn, broken.client_id) == before_broken  # nothing half-applied
    row = conn.execute(
        text("SELECT status, error_details FROM de_enrollment_runs WHERE client_id = :c"), {"c": broken.client_id}
    ).one()
    assert row.status == "failed" and "RaiseException: disk on fire" in row.error_details

    conn.execute(text("DROP TRIGGER fail_on_fourth ON de_enrollment_lead_log"))
    conn.commit()
    retry = run(engine, broken.client_id).clients[0]
    assert (retry.status, retry.leads_de_enrolled) == ("success", 8)


def test_campaign_whose_messages_is_not_an_array_is_skipped_and_reported(conn: Connection, engine: Engine) -> None:
    client = add_client(conn)
    good = add_campaign(conn, client, messages=2)
    bad = add_campaign(conn, client, messages=2, name="Broken Campaign")
    add_lead(conn, client, good, position=2)
    bad_leads = [add_lead(conn, client, bad, position=5) for _ in range(3)]
    conn.execute(text("ALTER TABLE campaigns DROP CONSTRAINT campaigns_messages_is_array"))
    conn.execute(text("""UPDATE campaigns SET messages = '{"oops": 1}' WHERE id = :b"""), {"b": bad})
    conn.commit()
    r = run(engine, client).clients[0]
    assert (r.status, r.leads_de_enrolled, r.leads_skipped) == ("success", 1, 3)
    assert "Broken Campaign" in r.error_details and "not a JSON array" in r.error_details
    assert conn.execute(
        text("SELECT bool_and(is_active) FROM leads WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": bad_leads}
    ).scalar()


def test_runtime_budget_gives_partial_and_the_rest_goes_first_next_time(conn: Connection, engine: Engine) -> None:
    slow, waiting = make_client(conn, due=3), make_client(conn, due=3)
    # every lead update of the slow client's first pass takes a second: the 400 ms budget cancels the statement
    conn.execute(
        text(
            """
            CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
            CREATE TRIGGER slow_down AFTER UPDATE ON leads FOR EACH STATEMENT EXECUTE FUNCTION slow_down();
            """
        )
    )
    conn.commit()
    ordered = sorted([slow.client_id, waiting.client_id])
    result = run(engine, *ordered, max_runtime_ms=400)
    assert [r.status for r in result.clients] == ["partial", "partial"]
    assert result.leads_de_enrolled == 0
    # both were in the one group statement the budget cancelled: both were reached, neither finished
    for r in result.clients:
        assert "runtime budget (400 ms) exhausted" in (r.error_details or ""), r

    conn.execute(text("DROP TRIGGER slow_down ON leads"))
    # a third client that succeeded last time goes after the two partial ones, whatever its id
    first = make_client(conn, due=1)
    conn.commit()
    run(engine, first.client_id)
    again = run(engine, first.client_id, *ordered)
    assert [r.client_id for r in again.clients][-1] == first.client_id
    assert [r.status for r in again.clients] == ["success"] * 3
    assert sum(r.leads_de_enrolled for r in again.clients) == 10


def test_a_running_row_left_by_a_dead_worker_is_closed_as_failed(conn: Connection, engine: Engine) -> None:
    data = make_client(conn)
    conn.execute(
        text("INSERT INTO de_enrollment_runs (client_id, status) VALUES (:c, 'running')"), {"c": data.client_id}
    )
    conn.commit()
    run(engine, data.client_id)
    rows = conn.execute(
        text("SELECT status, error_details FROM de_enrollment_runs WHERE client_id = :c ORDER BY run_at"),
        {"c": data.client_id},
    ).all()
    assert [r.status for r in rows] == ["failed", "success"]
    assert rows[0].error_details.startswith("abandoned")


@pytest.mark.parametrize("field", ["batch_size", "max_runtime_ms", "chunk_size"])
@pytest.mark.parametrize("value", [0, -5])
def test_non_positive_settings_are_config_errors(field: str, value: int) -> None:
    with pytest.raises(ConfigError, match=f"{field} must be a positive integer"):
        DeEnrollmentSettings(**{field: value})


def test_settings_come_from_the_sops_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DE_ENROLLMENT_BATCH_SIZE", "50")
    monkeypatch.setenv("DE_ENROLLMENT_MAX_RUNTIME", "480000")
    settings = DeEnrollmentSettings.from_env(chunk_size=None)
    assert (settings.batch_size, settings.max_runtime_ms) == (50, 480000)
    assert DeEnrollmentSettings.from_env(batch_size=10).batch_size == 10
    monkeypatch.setenv("DE_ENROLLMENT_BATCH_SIZE", "lots")
    with pytest.raises(ConfigError, match="DE_ENROLLMENT_BATCH_SIZE must be an integer"):
        DeEnrollmentSettings.from_env()
