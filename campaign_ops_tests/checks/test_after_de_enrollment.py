"""The checks in the real code location, after the real de-enrollment job: the sensor asks for the integrity
checks of the clients the run covered, and on the data de-enrollment leaves behind every check passes."""

import dagster as dg
from sqlalchemy import Connection, text

from campaign_ops.checks import defs as checks
from campaign_ops.definitions import defs
from campaign_ops_tests.checks.helpers import add_leads, refresh_counters
from campaign_ops_tests.factories import add_campaign, add_client


def test_integrity_checks_follow_a_de_enrollment_sweep_and_pass(conn: Connection, db_env: str) -> None:
    clients = [add_client(conn, name=f"Sweep {i}") for i in range(2)]
    for client in clients:
        campaign = add_campaign(conn, client, messages=3)
        add_leads(conn, client, campaign, count=150, position=3)  # stuck: 150 > 100 before the sweep
        add_leads(conn, client, campaign, count=7, position=1, opted_out=True)  # active and opted out
        add_leads(conn, client, campaign, count=20, position=1)
    refresh_counters(conn)
    conn.commit()

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("clients", clients)
        integrity_job = defs.resolve_job_def("integrity_checks_job")
        before = integrity_job.execute_in_process(instance=instance, tags={checks.CLIENT_TAG: clients[0]})
        by_name = {e.check_name: e for e in before.get_asset_check_evaluations()}
        assert by_name["stuck_leads"].severity == dg.AssetCheckSeverity.WARN and not by_name["stuck_leads"].passed
        assert not by_name["stats_drift"].passed  # 7 active opted-out leads: the two "active" definitions differ

        # the scheduled sweep evaluates no check itself: the checks follow it, in their own run
        sweep = defs.resolve_job_def(checks.SWEEP_JOB_NAME).execute_in_process(instance=instance)
        assert sweep.success
        assert sweep.get_asset_check_evaluations() == []

        run = instance.get_run_by_id(sweep.run_id)
        assert run is not None
        (ended,) = [e for e in sweep.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS]
        request = checks.integrity_checks_after_de_enrollment_sensor(
            dg.build_run_status_sensor_context(
                sensor_name=checks.integrity_checks_after_de_enrollment_sensor.name,
                dagster_event=ended,
                dagster_instance=instance,
                dagster_run=run,
            )
        )
        assert isinstance(request, dg.RunRequest) and checks.CLIENT_TAG not in request.tags
        after = integrity_job.execute_in_process(instance=instance, tags=request.tags)
        found = {e.check_name: e for e in after.get_asset_check_evaluations()}
        assert set(found) == {"stuck_leads", "stats_drift", "duplicate_de_enrollments"}
        assert all(e.passed for e in found.values()), {n: e.description for n, e in found.items()}
        assert found["stuck_leads"].metadata["stuck_leads"].value == 0
        assert found["stats_drift"].metadata["campaigns_checked"].value == 2

        health = defs.resolve_job_def("de_enrollment_health_job").execute_in_process(instance=instance)
        (evaluation,) = health.get_asset_check_evaluations()
        assert evaluation.passed, evaluation.description
        assert evaluation.metadata["successful_runs_24h"].value == 2
        assert evaluation.metadata["leads_de_enrolled_24h"].value == 2 * 157
    # and the lead log holds exactly one row per de-enrolled lead
    assert conn.execute(text("SELECT count(*) FROM de_enrollment_lead_log")).scalar() == 2 * 157
