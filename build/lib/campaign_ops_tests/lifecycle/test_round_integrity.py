"""Seed 003: would have answered 'was round 3 sent a day early?' in one look."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import pytest
from sqlalchemy import Connection, text

from campaign_ops.definitions import defs
from campaign_ops.lifecycle.core import round_integrity

BASE = date(2025, 9, 17)


def add_round(conn: Connection, name: str, n: int, scheduled: date, sent: datetime | None, status: str = "SENT") -> str:
    return str(
        conn.execute(
            text(
                "INSERT INTO lifecycle_campaign_schedules (campaign_name, round_number, scheduled_date, scheduled_time,"
                " status, recipient_count, sent_at) VALUES (:name, :n, :d, :t, :status, 100, :sent) RETURNING id"
            ),
            {
                "name": name,
                "n": n,
                "d": scheduled,
                "t": time(9, 0),
                "status": status if sent else "SCHEDULED",
                "sent": sent,
            },
        ).scalar()
    )


def at_nine(day: date, seconds: int = 5) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=UTC) + timedelta(seconds=seconds)


def add_notification(conn: Connection, schedule_id: str, stage: str, status: str, created: datetime) -> None:
    conn.execute(
        text(
            "INSERT INTO lifecycle_notification_logs (campaign_schedule_id, stage, status, sent_at, created_at)"
            " VALUES (:s, :stage, :status, CASE WHEN :status = 'SENT' THEN CAST(:c AS timestamptz) END, :c)"
        ),
        {"s": schedule_id, "stage": stage, "status": status, "c": created},
    )


def clean_campaign(conn: Connection, name: str = "Clean") -> list[str]:
    ids = [
        add_round(conn, name, n, BASE + timedelta(days=7 * (n - 1)), at_nine(BASE + timedelta(days=7 * (n - 1))))
        for n in (1, 2, 3)
    ]
    for i in ids:
        add_notification(conn, i, "LAUNCH", "SENT", datetime(2025, 1, 1, tzinfo=UTC))
    return ids


def kinds(conn: Connection) -> list[tuple[str, int, str]]:
    return [(v.campaign_name, v.round_number, v.kind) for v in round_integrity(conn).violations]


def test_a_clean_campaign_passes(conn: Connection) -> None:
    clean_campaign(conn)
    add_round(conn, "Clean", 4, BASE + timedelta(days=21), None)  # not yet sent: fine
    assert kinds(conn) == []


def test_round_sent_a_day_early(conn: Connection) -> None:
    clean_campaign(conn)
    add_round(conn, "Early", 1, BASE, at_nine(BASE))
    add_round(conn, "Early", 2, BASE + timedelta(days=7), at_nine(BASE + timedelta(days=6)))
    add_round(conn, "Early", 3, BASE + timedelta(days=14), at_nine(BASE + timedelta(days=14), seconds=-1))  # 1 s early
    assert kinds(conn) == [("Early", 2, "sent_early"), ("Early", 3, "sent_early")]
    first = round_integrity(conn).violations[0]
    assert first.scheduled_at == at_nine(BASE + timedelta(days=7), seconds=0)
    assert first.sent_at == at_nine(BASE + timedelta(days=6)) and "0d 23h 59m before" in first.detail


def test_round_sent_before_the_previous_round(conn: Connection) -> None:
    add_round(conn, "Order", 1, BASE, None)
    add_round(conn, "Order", 2, BASE - timedelta(days=3), at_nine(BASE - timedelta(days=3)))
    [violation] = round_integrity(conn).violations
    assert (violation.round_number, violation.kind) == (2, "sent_before_previous_round")
    assert violation.detail == "round 1 was never sent"


def test_round_sent_twice(conn: Connection) -> None:
    ids = clean_campaign(conn, "Twice")
    add_notification(conn, ids[1], "LAUNCH", "SENT", datetime(2025, 1, 2, tzinfo=UTC))
    assert kinds(conn) == [("Twice", 2, "sent_twice")]


def test_launch_notifications_rescheduled_after_the_round_was_sent(conn: Connection) -> None:
    ids = clean_campaign(conn, "Resched")
    add_notification(
        conn, ids[2], "LAUNCH_COUNTDOWN", "SCHEDULED", at_nine(BASE + timedelta(days=14)) + timedelta(hours=1)
    )
    add_notification(
        conn, ids[1], "WRAP_UP", "SCHEDULED", at_nine(BASE + timedelta(days=7)) + timedelta(hours=1)
    )  # fine
    assert kinds(conn) == [("Resched", 3, "rescheduled_after_send")]


def test_check_through_a_dagster_run(conn: Connection, db_env: str) -> None:
    clean_campaign(conn)
    conn.commit()
    job = defs.resolve_job_def("lifecycle_integrity_job")
    with dg.instance_for_test() as instance:
        [ok] = job.execute_in_process(instance=instance).get_asset_check_evaluations()
        assert ok.passed and ok.metadata["violations"].value == 0
        add_round(conn, "Client Letter Automation", 1, BASE, at_nine(BASE - timedelta(days=1)))
        conn.commit()
        [bad] = job.execute_in_process(instance=instance).get_asset_check_evaluations()
    assert not bad.passed and bad.severity == dg.AssetCheckSeverity.ERROR
    assert bad.metadata["sent_early"].value == 1
    table = bad.metadata["violations_table"].value
    assert "Client Letter Automation" in table and "2025-09-17T09:00:00+00:00" in table


def test_lifecycle_status_command(conn: Connection, db_env: str) -> None:
    ids = clean_campaign(conn, "Client Letter Automation")
    conn.execute(
        text(
            "INSERT INTO lifecycle_campaign_metrics"
            " (campaign_schedule_id, processed, delivered, bounced, opened, clicked) VALUES (:s, 100, 97, 3, 40, 7)"
        ),
        {"s": ids[0]},
    )
    conn.commit()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "campaign_ops.cli", *args],
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    proc = run("lifecycle", "status", "Client Letter Automation")
    assert proc.returncode == 0, proc.stderr
    assert (
        "| 1 | 2025-09-17 09:00:00 | SENT | 2025-09-17T09:00:05+00:00 | 100 | — | 100 | 97 | 3 | 40 | 7 |"
        in proc.stdout
    )
    assert "✅ every lifecycle round was sent on time, in order and once" in proc.stdout
    missing = run("lifecycle", "status", "Nope")
    assert missing.returncode == 1 and missing.stderr.strip() == "error: no lifecycle campaign named 'Nope'"


@pytest.mark.parametrize("status", ["SENT", "COMPLETED"])
def test_sent_status_requires_a_send_time(conn: Connection, status: str) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="lifecycle_campaign_schedules_sent_has_time"):
        conn.execute(
            text(
                "INSERT INTO lifecycle_campaign_schedules (campaign_name, round_number, scheduled_date, scheduled_time,"
                " status) VALUES ('x', 1, '2025-01-01', '09:00', :s)"
            ),
            {"s": status},
        )
