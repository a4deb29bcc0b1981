"""Run retention through real Dagster runs: the daily job deletes finished runs older than the retention with
their events and asset-check rows, and keeps newer runs."""

import datetime as dt
import time

import dagster as dg
from sqlalchemy import Connection

from campaign_ops.definitions import defs
from campaign_ops.retention.core import prune_runs
from campaign_ops_tests.factories import add_client


def check_rows(instance: dg.DagsterInstance, run_id: str) -> int:
    key = dg.AssetCheckKey(dg.AssetKey("leads"), "stuck_leads")
    return sum(
        1 for r in instance.event_log_storage.get_asset_check_execution_history(key, limit=100) if r.run_id == run_id
    )


def test_the_daily_job_prunes_old_runs_with_their_events_and_check_rows(conn: Connection, db_env: str) -> None:
    add_client(conn)
    conn.commit()
    checks = defs.resolve_job_def("integrity_checks_job")
    with dg.instance_for_test() as instance:
        old = checks.execute_in_process(instance=instance)
        time.sleep(0.05)
        new = checks.execute_in_process(instance=instance)
        assert check_rows(instance, old.run_id) == 1 and instance.all_logs(old.run_id)
        old_created = instance.get_run_record_by_id(old.run_id).create_timestamp  # type: ignore[union-attr]
        # as if 90 days had passed since just after the old run was created
        later = old_created + dt.timedelta(days=90, milliseconds=20)
        assert prune_runs(instance, older_than_days=90, now=later, dry_run=True).runs == 1
        assert instance.get_run_by_id(old.run_id) is not None  # a dry run deletes nothing

        result = prune_runs(instance, older_than_days=90, now=later)
        assert result.runs == 1
        assert instance.get_run_by_id(old.run_id) is None
        assert instance.all_logs(old.run_id) == [] and check_rows(instance, old.run_id) == 0
        assert instance.get_run_by_id(new.run_id) is not None and check_rows(instance, new.run_id) == 1

        schedule = defs.resolve_schedule_def("prune_runs_schedule")
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
        tick = dt.datetime(2026, 3, 2, 3, 40, tzinfo=dt.UTC)
        [request] = schedule.evaluate_tick(
            dg.build_schedule_context(instance, scheduled_execution_time=tick)
        ).run_requests
        job = defs.resolve_job_def("prune_runs_job")
        ran = job.execute_in_process(instance=instance, tags=request.tags)
        assert ran.success  # the default retention: nothing is that old, nothing deleted
        assert instance.get_run_by_id(new.run_id) is not None
        bad = job.execute_in_process(
            instance=instance,
            run_config={"ops": {"prune_old_runs": {"config": {"older_than_days": 0}}}},
            raise_on_error=False,
        )
        assert not bad.success
        failure = next(e for e in bad.all_events if e.is_step_failure)
        assert "older_than_days must be at least 1" in str(failure.step_failure_data.user_failure_data.description)
