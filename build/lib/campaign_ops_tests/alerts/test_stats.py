"""`alerts stats`: the hardening report's figures and its healthy/unhealthy reading, from the delivery log."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from campaign_ops.alerts.model import utc_now
from campaign_ops.alerts.stats import alert_stats
from campaign_ops.cli import main
from campaign_ops.errors import ConfigError

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def delivered(
    conn: Connection,
    alert_type: str,
    key: str,
    severity: str,
    *,
    hours_ago: float,
    now: datetime = NOW,
    kind: str = "firing",
    status: str = "sent",
    resource: str | None = None,
) -> None:
    log_id = conn.execute(
        text(
            "INSERT INTO alert_logs (alert_type, alert_key, severity, resource_id) VALUES (:t, :k, :s, :r)"
            " ON CONFLICT (alert_type, alert_key) DO UPDATE SET severity = EXCLUDED.severity RETURNING id"
        ),
        {"t": alert_type, "k": key, "s": severity, "r": resource},
    ).scalar()
    conn.execute(
        text(
            "INSERT INTO alert_deliveries (alert_log_id, message_id, kind, severity, channel, status, attempted_at)"
            " VALUES (:a, :m, :kind, :s, 'slack_webhook', :status, :t)"
        ),
        {
            "a": log_id,
            "m": str(uuid.uuid4()),
            "kind": kind,
            "s": severity,
            "status": status,
            "t": now - timedelta(hours=hours_ago),
        },
    )


def test_a_quiet_day_is_healthy(conn: Connection) -> None:
    delivered(conn, "STUCK_CLIENT", "stuck_client:a", "MEDIUM", hours_ago=3, resource="a")
    delivered(conn, "STUCK_CLIENT", "stuck_client:a", "MEDIUM", hours_ago=1, kind="resolved", resource="a")
    delivered(conn, "POOL_EMPTY", "pool_empty", "HIGH", hours_ago=30)  # outside the window
    stats = alert_stats(conn, hours=24, now=NOW)
    assert (stats.alerts, stats.resolved, stats.unique_resources) == (1, 1, 1)
    assert stats.by_type == {"STUCK_CLIENT": 1} and stats.by_severity == {"MEDIUM": 1}
    assert stats.reading == "healthy"


def test_more_than_five_a_day_or_repeats_or_frequent_high_is_unhealthy(conn: Connection) -> None:
    for i in range(6):
        delivered(conn, "CHECK_FAILED", f"check_failed:stats_drift:{i}", "WARN", hours_ago=i + 1)
    stats = alert_stats(conn, hours=24, now=NOW)
    assert stats.alerts == 6 and stats.reading == "unhealthy"
    assert stats.reasons == ["6.0 alerts a day (more than 5)"]


def test_the_same_alert_repeating_is_unhealthy(conn: Connection) -> None:
    for i in range(3):
        delivered(conn, "POOL_EMPTY", "pool_empty", "MEDIUM", hours_ago=i * 7 + 1, kind="reminder" if i else "firing")
    stats = alert_stats(conn, hours=24, now=NOW)
    assert stats.repeated_keys == {"pool_empty": 3}
    assert stats.reading == "unhealthy" and "pool_empty" in stats.reasons[0]


def test_in_between_is_watch(conn: Connection) -> None:
    for i in range(3):
        delivered(conn, "STUCK_CLIENT", f"stuck_client:{i}", "MEDIUM", hours_ago=i + 1)
    stats = alert_stats(conn, hours=24, now=NOW)
    assert (stats.alerts, stats.reading) == (3, "watch")
    with pytest.raises(ConfigError):
        alert_stats(conn, hours=0, now=NOW)


def test_cli_prints_figures_and_json(conn: Connection, db_env: str) -> None:
    # The CLI reads the process clock (utc_now), so the rows are placed relative to it: never a fixed date, nor the
    # database's now() (another clock)
    now = utc_now()
    delivered(conn, "STUCK_CLIENT", "stuck_client:b", "HIGH", hours_ago=0.5, now=now, resource="b")
    delivered(conn, "POOL_EMPTY", "pool_empty", "HIGH", hours_ago=0.2, now=now, status="failed")
    conn.commit()
    result = CliRunner().invoke(main, ["alerts", "stats", "--hours", "24", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["alerts"], data["failed"], data["byType"]) == (1, 1, {"STUCK_CLIENT": 1})
    text_out = CliRunner().invoke(main, ["alerts", "stats"]).output
    assert "Alerts in the last 24 h: 1 (1.0 a day), 0 resolved, 1 failed deliveries, 0 silenced" in text_out
    assert "⚠️ watch" in text_out  # one HIGH a day is more than the hardening report's 'HIGH rare (<1/week)'
