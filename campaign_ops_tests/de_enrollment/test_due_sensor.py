"""de_enrollment_due_sensor on real ticks (a real instance and database), the run it launches, the latency check
and its alert."""

from datetime import timedelta

import dagster as dg
import pytest
from sqlalchemy import Connection, create_engine, text

from campaign_ops.checks.defs import integrity_checks_after
from campaign_ops.de_enrollment.defs import de_enrollment_latency_asset, de_enrollment_sweep_job
from campaign_ops.de_enrollment.due import backing_off, database_now
from campaign_ops.de_enrollment.due_defs import (
    DUE_SENSOR_NAME,
    SPACING_ENV,
    de_enrollment_due_sensor,
    de_enrollment_latency_job,
    due_run_spacing_seconds,
    last_due_run,
    too_soon,
)
from campaign_ops.definitions import defs
from campaign_ops.errors import ConfigError
from campaign_ops.pause.core import record_pause, record_resume
from campaign_ops.pause.defs import WRITES_TAG
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.alerts.conftest import FakeSlack, SensorDriver
from campaign_ops_tests.de_enrollment.conftest import make_client, queued


def tick(instance: dg.DagsterInstance, db_url: str) -> dg.RunRequest | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=instance, sensor_name=DUE_SENSOR_NAME, resources={"database": DatabaseResource(url=db_url)}
    )
    result = de_enrollment_due_sensor(context)
    assert isinstance(result, dg.RunRequest | dg.SkipReason), result
    return result


def launch(instance: dg.DagsterInstance, request: dg.RunRequest, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    """What the daemon makes of the request: a run of the sweep job with its config and tags."""
    return instance.create_run_for_job(
        de_enrollment_sweep_job, run_config=request.run_config, tags=request.tags, status=status
    )


def test_the_sensor_is_on_by_default_every_few_seconds_and_stopped_by_pause() -> None:
    sensor = defs.resolve_sensor_def(DUE_SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds is not None and sensor.minimum_interval_seconds <= 10
    assert sensor.tags.get(WRITES_TAG) == "true"
    assert sensor.job_name == "de_enrollment_sweep_job"


def test_nothing_due_skips_with_a_reason(conn: Connection, db_url: str) -> None:
    make_client(conn, due=0)
    conn.execute(text("UPDATE leads SET opted_out = false, booked_meeting = false"))
    conn.commit()
    with dg.instance_for_test() as instance:
        result = tick(instance, db_url)
    assert isinstance(result, dg.SkipReason)
    assert "no active client has due leads" in (result.skip_message or "")


def test_due_leads_in_three_clients_give_one_run_for_exactly_them(conn: Connection, db_url: str) -> None:
    due = [make_client(conn, due=n) for n in (1, 2, 3)]
    quiet = make_client(conn, due=0)
    conn.execute(
        text("UPDATE leads SET opted_out = false, booked_meeting = false WHERE client_id = :c"), {"c": quiet.client_id}
    )
    make_client(conn, active=False)  # due leads of an inactive client: not its run
    conn.commit()
    with dg.instance_for_test() as instance:
        request = tick(instance, db_url)
        assert isinstance(request, dg.RunRequest)
        scope = request.run_config["ops"]["de_enrollment_sweep"]["config"]["client_ids"]
        assert sorted(scope) == sorted(c.client_id for c in due)
        assert request.tags["campaign_ops/sweep"] == "due_clients"
        assert request.tags["campaign_ops/due_leads"] == str(3 + 4 + 5)  # each: due + opted out + booked
        assert request.run_key == "de_enrollment_due:after:none"


def test_a_run_in_flight_means_no_second_run_and_the_next_window_gets_a_new_key(conn: Connection, db_url: str) -> None:
    make_client(conn, due=2)
    conn.commit()
    with dg.instance_for_test() as instance:
        first = tick(instance, db_url)
        assert isinstance(first, dg.RunRequest)
        run = launch(instance, first, dg.DagsterRunStatus.STARTED)
        waiting = tick(instance, db_url)
        assert isinstance(waiting, dg.SkipReason)
        assert run.run_id in (waiting.skip_message or "") and "one at a time" in (waiting.skip_message or "")
        # the run ended without taking the leads (its clients' locks were held, say): the next window's run
        instance.report_run_failed(run)
        second = tick(instance, db_url)
        assert isinstance(second, dg.RunRequest)
        assert second.run_key == f"de_enrollment_due:after:{run.run_id}" != first.run_key
        # a tick evaluated twice in one window asks for the same run key: Dagster launches it once
        assert tick(instance, db_url).run_key == second.run_key  # type: ignore[union-attr]


def test_a_spacing_holds_the_next_run_until_that_many_seconds_after_the_last_one(
    conn: Connection, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where each run is a pod: the next due run waits for the spacing even though the last one has ended."""
    make_client(conn, due=2)
    conn.commit()
    monkeypatch.setenv(SPACING_ENV, "3600")
    with dg.instance_for_test() as instance:
        first = tick(instance, db_url)
        assert isinstance(first, dg.RunRequest)
        run = launch(instance, first, dg.DagsterRunStatus.STARTED)
        instance.report_run_failed(run)  # ended: only the spacing holds the next one
        waiting = tick(instance, db_url)
        assert isinstance(waiting, dg.SkipReason)
        assert run.run_id in (waiting.skip_message or "") and "one due run per 3600 s" in (waiting.skip_message or "")

        record = last_due_run(instance)
        assert record is not None and record.dagster_run.run_id == run.run_id
        created = record.create_timestamp.timestamp()
        assert isinstance(too_soon(record, 30, now=created + 29), dg.SkipReason)
        assert too_soon(record, 30, now=created + 30) is None
        assert too_soon(record, 0, now=created) is None

        monkeypatch.delenv(SPACING_ENV)  # the default: the next run as soon as the last one ended
        second = tick(instance, db_url)
        assert isinstance(second, dg.RunRequest) and second.run_key == f"de_enrollment_due:after:{run.run_id}"


@pytest.mark.parametrize("raw", ["-1", "1.5", "thirty", "86401", "٣٠"])
def test_a_spacing_that_is_not_whole_seconds_is_refused_in_one_line(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SPACING_ENV, raw)
    with pytest.raises(ConfigError, match=f"^{SPACING_ENV} must be a whole number of seconds"):
        due_run_spacing_seconds()
    monkeypatch.setenv(SPACING_ENV, " 30 ")
    assert due_run_spacing_seconds() == 30


def test_while_paused_the_sensor_launches_nothing(conn: Connection, db_url: str) -> None:
    make_client(conn, due=2)
    conn.commit()
    with dg.instance_for_test() as instance:
        record_pause(conn, by="ops", reason="incident")
        result = tick(instance, db_url)
        assert isinstance(result, dg.SkipReason) and "paused by ops" in (result.skip_message or "")
        record_resume(conn, by="ops")
        assert isinstance(tick(instance, db_url), dg.RunRequest)


def test_the_launched_run_de_enrolls_those_clients_and_records_their_latency(
    conn: Connection, db_url: str, db_env: str
) -> None:
    a, b = make_client(conn, due=2), make_client(conn, due=3)
    conn.commit()
    with dg.instance_for_test() as instance:
        request = tick(instance, db_url)
        assert isinstance(request, dg.RunRequest)
        # scoped to a only, as if b's leads had become due just after the tick
        request.run_config["ops"]["de_enrollment_sweep"]["config"]["client_ids"] = [a.client_id]
        result = de_enrollment_sweep_job.execute_in_process(
            run_config=request.run_config,
            instance=instance,
            tags=request.tags,
            resources={"database": DatabaseResource(url=db_url)},
        )
        assert result.success
        output = next(e for e in result.all_events if e.event_type_value == "STEP_OUTPUT").event_specific_data.metadata  # type: ignore[union-attr]
        assert output["clients"].value == 1 and output["leads_de_enrolled"].value == 4
        assert output["latency_leads"].value == 4 and output["latency_p95_s"].value >= 0
        latest = instance.get_latest_materialization_event(de_enrollment_latency_asset.key)
        assert latest is not None and latest.asset_materialization.metadata["latency_leads"].value == 4
        assert set(latest.asset_materialization.metadata["latency_per_client"].value) == {a.client_id}  # type: ignore[arg-type]
        # the per-client figures are stored once, on the materialization, not again on the run's output
        assert not [k for k in output if k.startswith("latency_p95_s · ") or k == "latency_per_client"]
        # each client's p95 is a number of its own, plotted per client: a's only (b had none de-enrolled)
        per_client = [k for k in latest.asset_materialization.metadata if k.startswith("latency_p95_s · ")]
        assert per_client == [k for k in per_client if k.endswith(f" · {a.client_id[:8]}")] and len(per_client) == 1
        # the other client's due leads are still queued, a's are settled: the next tick asks for b only
        assert queued(conn) == {*b.due_completed, *b.opted_out, *b.booked}
        per_lead = conn.execute(
            text(
                "SELECT count(*) FROM de_enrollment_lead_log WHERE client_id = :c AND action = 'de_enrolled'"
                " AND due_since IS NOT NULL AND processed_at >= due_since"
            ),
            {"c": a.client_id},
        ).scalar_one()
        conn.commit()
        assert per_lead == 4
        after = tick(instance, db_url)
        assert isinstance(after, dg.RunRequest)
        assert after.run_config["ops"]["de_enrollment_sweep"]["config"]["client_ids"] == [b.client_id]
        assert after.run_key == f"de_enrollment_due:after:{result.run_id}"
        # the integrity checks do not follow every due run (they run hourly and after the 15-minute sweep)
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and isinstance(integrity_checks_after(run, instance), dg.SkipReason)


def _lead_log_rows(conn: Connection, client_id: str, waited_seconds: list[int]) -> None:
    """De-enrollments processed now whose leads became due `waited_seconds` earlier (the database's clock)."""
    run_id = conn.execute(
        text("INSERT INTO de_enrollment_runs (client_id, status) VALUES (:c, 'success') RETURNING id"),
        {"c": client_id},
    ).scalar_one()
    lead_ids = conn.execute(text("SELECT id FROM leads WHERE client_id = :c"), {"c": client_id}).scalars().all()
    for lead_id, seconds in zip(lead_ids, waited_seconds, strict=False):
        conn.execute(
            text(
                "INSERT INTO de_enrollment_lead_log (run_id, lead_id, client_id, action, outcome, due_since)"
                " VALUES (:r, :l, :c, 'de_enrolled', 'completed', now() - make_interval(secs => :s))"
            ),
            {"r": run_id, "l": lead_id, "c": client_id, "s": seconds},
        )
    conn.commit()


def _check(instance: dg.DagsterInstance, db_url: str) -> dg.AssetCheckEvaluation:
    result = de_enrollment_latency_job.resolve(asset_graph=defs.resolve_asset_graph()).execute_in_process(
        instance=instance, resources={"database": DatabaseResource(url=db_url)}
    )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 1
    return evaluations[0]


def test_latency_check_warns_above_two_minutes_and_the_alert_pipeline_sends_it(
    conn: Connection, db_url: str, driver: SensorDriver, slack: FakeSlack
) -> None:
    fast, slow = make_client(conn, due=6), make_client(conn, due=6)
    conn.commit()
    _lead_log_rows(conn, fast.client_id, [5, 8, 10, 12, 15])
    evaluation = _check(driver.instance, db_url)
    assert evaluation.passed and evaluation.metadata["latency_leads"].value == 5
    assert evaluation.metadata["latency_p95_s"].value < 120

    _lead_log_rows(conn, slow.client_id, [200, 260, 300, 400, 500, 600, 700, 800, 900, 1000])
    evaluation = _check(driver.instance, db_url)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["latency_p95_s"].value > 120
    assert slow.client_id in (evaluation.description or "") and fast.client_id not in (evaluation.description or "")
    assert evaluation.metadata["slow_clients_count"].value == 1

    driver.tick("asset_check_alert_sensor")
    assert any("de_enrollment_latency_p95" in title and "WARN" in title for title in slack.titles()), slack.titles()


def test_latency_check_passes_with_nothing_to_measure(
    conn: Connection, db_url: str, instance: dg.DagsterInstance
) -> None:
    make_client(conn, due=1)
    conn.commit()
    evaluation = _check(instance, db_url)
    assert evaluation.passed and "no de-enrollment" in (evaluation.description or "")


# --- backing off clients whose passes fail ------------------------------------------------------------------------


def _passes(conn: Connection, client_id: str, statuses: list[str], minutes_ago: float = 0.0) -> None:
    """Passes of the client, oldest first, one second apart, the newest `minutes_ago` (the database's clock)."""
    for i, status in enumerate(statuses):
        conn.execute(
            text(
                "INSERT INTO de_enrollment_runs (client_id, status, run_at, finished_at)"
                " VALUES (:c, :s, now() - make_interval(secs => :ago), now() - make_interval(secs => :ago))"
            ),
            {"c": client_id, "s": status, "ago": minutes_ago * 60 + len(statuses) - 1 - i},
        )
    conn.commit()


def _older(conn: Connection, client_id: str, minutes: float) -> None:
    """Time passes for the client's passes: each moved `minutes` into the past."""
    conn.execute(
        text(
            "UPDATE de_enrollment_runs SET run_at = run_at - make_interval(secs => :s),"
            " finished_at = finished_at - make_interval(secs => :s) WHERE client_id = :c"
        ),
        {"c": client_id, "s": minutes * 60},
    )
    conn.commit()


def _scope(request: dg.RunRequest | dg.SkipReason) -> list[str]:
    assert isinstance(request, dg.RunRequest), request
    return request.run_config["ops"]["de_enrollment_sweep"]["config"]["client_ids"]


def test_a_client_failing_three_times_backs_off_while_another_is_launched_then_is_tried_again(
    conn: Connection, db_url: str
) -> None:
    failing, healthy = make_client(conn, due=2), make_client(conn, due=1)
    conn.commit()
    _passes(conn, failing.client_id, ["success", "failed", "failed", "failed"])
    with dg.instance_for_test() as instance:
        request = tick(instance, db_url)
        assert _scope(request) == [healthy.client_id]
        assert request.tags["campaign_ops/backing_off"] == "1"  # type: ignore[union-attr]
        # a pass of the healthy client ends the window; now the failing one alone is due
        run = launch(instance, request, dg.DagsterRunStatus.SUCCESS)  # type: ignore[arg-type]
        conn.execute(text("DELETE FROM de_enrollment_due_queue WHERE client_id = :c"), {"c": healthy.client_id})
        conn.commit()
        skipped = tick(instance, db_url)
        assert isinstance(skipped, dg.SkipReason)
        message = skipped.skip_message or ""
        assert "1 client(s) with due leads backing off" in message, message
        assert f"({failing.client_id}): 3 failed pass(es), until " in message and " UTC" in message
        # three failures in a row: 4 minutes from the newest; after 3 it still waits, after 4 it is tried again
        _older(conn, failing.client_id, 3)
        assert isinstance(tick(instance, db_url), dg.SkipReason)
        _older(conn, failing.client_id, 1.1)
        again = tick(instance, db_url)
        assert _scope(again) == [failing.client_id]
        assert "campaign_ops/backing_off" not in again.tags  # type: ignore[union-attr]
        assert again.run_key == f"de_enrollment_due:after:{run.run_id}"  # type: ignore[union-attr]


def test_a_client_whose_lock_is_held_is_not_relaunched_every_tick(conn: Connection, db_url: str, db_env: str) -> None:
    """Another session holds a client's lock: the due run skips it; the next ticks back off instead of launching
    a run for it every few seconds (each would skip it again), and the other clients' runs go on."""
    locked, other = make_client(conn, due=2), make_client(conn, due=1)
    conn.commit()
    holder = create_engine(db_url).connect()
    try:
        assert holder.execute(
            text("SELECT pg_try_advisory_lock(client_lock_key(CAST(:c AS uuid)))"), {"c": locked.client_id}
        ).scalar_one()
        with dg.instance_for_test() as instance:
            request = tick(instance, db_url)
            assert sorted(_scope(request)) == sorted([locked.client_id, other.client_id])
            assert isinstance(request, dg.RunRequest)
            result = de_enrollment_sweep_job.execute_in_process(
                run_config=request.run_config,
                instance=instance,
                tags=request.tags,
                resources={"database": DatabaseResource(url=db_url)},
            )
            assert result.success
            statuses = dict(
                conn.execute(
                    text("SELECT client_id::text, status FROM de_enrollment_runs WHERE dagster_run_id = :r"),
                    {"r": result.run_id},
                ).all()
            )
            assert statuses == {locked.client_id: "skipped", other.client_id: "success"}
            # the Runs list names them: whom the run was for (from its launch) and whom it skipped (from its end)
            names = dict(conn.execute(text("SELECT id::text, company_name FROM clients")).all())
            tags = instance.get_run_by_id(result.run_id).tags  # type: ignore[union-attr]
            assert set(tags["campaign_ops/clients"].split(", ")) == {names[locked.client_id], names[other.client_id]}
            assert tags["campaign_ops/skipped_clients"] == names[locked.client_id]
            assert "campaign_ops/failed_clients" not in tags and "campaign_ops/partial_clients" not in tags
            # its leads are still due; the next tick launches nothing for it and says why
            assert queued(conn) >= {*locked.due_completed}
            waiting = tick(instance, db_url)
            assert isinstance(waiting, dg.SkipReason), waiting
            message = waiting.skip_message or ""
            assert f"({locked.client_id}): 1 skipped pass(es) (its lock held by another session), until " in message
            # a lead of the other client becomes due meanwhile: its run goes on without the locked client
            conn.execute(
                text(
                    "UPDATE leads SET opted_out = true WHERE id = (SELECT id FROM leads WHERE client_id = :c "
                    "AND is_active LIMIT 1)"
                ),
                {"c": other.client_id},
            )
            conn.commit()
            alone = tick(instance, db_url)
            assert _scope(alone) == [other.client_id]
            assert alone.tags["campaign_ops/client"] == names[other.client_id]  # type: ignore[union-attr]
            assert alone.tags["campaign_ops/client_id"] == other.client_id  # type: ignore[union-attr]
    finally:
        holder.close()


def test_a_success_resets_the_backoff_and_running_passes_do_not(conn: Connection, db_url: str) -> None:
    client = make_client(conn, due=2)
    conn.commit()
    _passes(conn, client.client_id, ["failed", "failed", "skipped", "running"])
    with dg.instance_for_test() as instance:
        assert isinstance(tick(instance, db_url), dg.SkipReason)  # lock held, pass under way: still backing off
        _passes(conn, client.client_id, ["success"])
        assert _scope(tick(instance, db_url)) == [client.client_id]
        _passes(conn, client.client_id, ["partial"])  # ran out of budget: no failure either
        assert _scope(tick(instance, db_url)) == [client.client_id]


def test_the_delay_doubles_with_each_failure_up_to_the_schedules_interval(conn: Connection) -> None:
    client = make_client(conn, due=1)
    conn.commit()
    now = database_now(conn)
    expected_minutes = [1, 2, 4, 8, 15, 15, 15]
    for failures, minutes in enumerate(expected_minutes, start=1):
        _passes(conn, client.client_id, ["failed"])
        (backoff,) = backing_off(conn, [client.client_id])
        newest = conn.execute(
            text("SELECT max(finished_at) FROM de_enrollment_runs WHERE client_id = :c"), {"c": client.client_id}
        ).scalar_one()
        conn.commit()
        assert backoff.failures == min(failures, 5)  # past five in a row the delay is capped: not read further
        assert backoff.until - newest == timedelta(minutes=minutes)
    # injected now: past the 15 minutes nothing backs off; an unknown or healthy client never does
    assert backing_off(conn, [client.client_id], now=now + timedelta(minutes=16)) == []
    assert backing_off(conn, [make_client(conn).client_id]) == []
    assert backing_off(conn, []) == []
