"""The de-enrollment health check on real PostgreSQL: each threshold's boundary lands on the right severity, and
the per-client lines, figures and scope are exact."""

import pytest
from sqlalchemy import Connection, text

from campaign_ops.check_kit.outcome import Level
from campaign_ops.checks.health import evaluate_de_enrollment_health
from campaign_ops_tests.checks.helpers import add_runs
from campaign_ops_tests.factories import add_client


@pytest.mark.parametrize(
    ("successes", "partials", "rate", "level"),
    [(950, 50, 95.0, Level.PASSED), (949, 51, 94.9, Level.WARN)],
)
def test_health_success_rate_boundary(
    conn: Connection, successes: int, partials: int, rate: float, level: Level
) -> None:
    client = add_client(conn)
    # partial runs are not failures: only the success rate moves; all within the last 24 h
    add_runs(conn, client, status="success", count=successes, minutes_ago=0.5, spacing_minutes=0.5)
    add_runs(conn, client, status="partial", count=partials, minutes_ago=600, spacing_minutes=0.5)
    add_runs(conn, client, status="skipped", count=30, minutes_ago=900, spacing_minutes=1)  # not in the rate
    conn.commit()
    result = evaluate_de_enrollment_health(conn)
    (health,) = result.clients
    assert health.success_rate_24h == rate
    assert result.level == level
    figures = result.figures()
    assert figures["success_rate_24h_pct"] == rate
    assert figures["runs_24h"] == 1030 and figures["skipped_runs_24h"] == 30 and figures["partial_runs_24h"] == partials
    if level == Level.WARN:
        assert (
            health.line().startswith("⚠️ Client")
            and "success rate of 94.90% in 24h (0 failed, 51 partial of 1000 runs)" in health.line()
        )


@pytest.mark.parametrize(("failed", "level"), [(5, Level.PASSED), (6, Level.WARN)])
def test_health_failed_runs_boundary(conn: Connection, failed: int, level: Level) -> None:
    client = add_client(conn)
    add_runs(conn, client, status="success", count=200, minutes_ago=1, spacing_minutes=5)
    add_runs(conn, client, status="failed", count=failed, minutes_ago=3, spacing_minutes=60, error_details="boom")
    conn.commit()
    result = evaluate_de_enrollment_health(conn)
    assert result.level == level
    assert result.figures()["failed_runs_24h"] == failed
    assert result.clients[0].success_rate_24h >= 95  # only the failed-runs rule decides
    if level == Level.WARN:
        assert result.clients[0].problems == [(Level.WARN, "has 6 failed runs in 24h")]


@pytest.mark.parametrize(("minutes", "level"), [(120, Level.PASSED), (121, Level.ERROR)])
def test_health_hours_since_success_boundary(conn: Connection, minutes: int, level: Level) -> None:
    client = add_client(conn, name="Quiet")
    add_runs(conn, client, status="success", minutes_ago=minutes)
    conn.commit()
    result = evaluate_de_enrollment_health(conn)
    assert result.level == level
    assert result.figures()["max_hours_since_success"] == {120: 2.0, 121: 2.02}[minutes]
    if level == Level.ERROR:
        assert result.clients[0].line() == f"❌ Client Quiet ({client}) hasn't run successfully in 2.0 hours"
        assert result.figures()["clients_error"] == 1


@pytest.mark.parametrize(("duration_ms", "level"), [(240_000, Level.PASSED), (240_001, Level.WARN)])
def test_health_average_duration_boundary(conn: Connection, duration_ms: int, level: Level) -> None:
    client = add_client(conn)
    add_runs(conn, client, status="success", count=2, minutes_ago=1, spacing_minutes=15, duration_ms=duration_ms)
    conn.commit()
    result = evaluate_de_enrollment_health(conn)
    assert result.level == level
    assert result.figures()["max_avg_duration_ms_24h"] == duration_ms


def test_health_per_client_lines_figures_and_scope(conn: Connection) -> None:
    ok = add_client(conn, name="Okay")
    add_runs(conn, ok, status="success", count=96, minutes_ago=1, spacing_minutes=15, de_enrolled=2)
    flaky = add_client(conn, name="Flaky")
    add_runs(conn, flaky, status="success", count=90, minutes_ago=1, spacing_minutes=15)
    add_runs(conn, flaky, status="failed", count=6, minutes_ago=7, spacing_minutes=60, error_details="timeout")
    never = add_client(conn, name="Never")
    conn.execute(text("UPDATE clients SET created_at = now() - interval '25 hours' WHERE id = :id"), {"id": never})
    add_runs(conn, never, status="failed", count=2, minutes_ago=30, spacing_minutes=60)
    gone = add_client(conn, name="Gone", active=False)
    add_runs(conn, gone, status="failed", count=9, minutes_ago=30)
    conn.commit()

    result = evaluate_de_enrollment_health(conn)
    assert [c.company_name for c in result.clients] == ["Flaky", "Never", "Okay"]  # active clients only
    lines = dict(zip([c.company_name for c in result.clients], result.lines(), strict=True))
    assert lines["Okay"] == f"✅ Client Okay ({ok}) processed successfully in last 24h (96 runs, 100.00% successful)"
    assert lines["Flaky"] == (
        f"⚠️ Client Flaky ({flaky}) has 6 failed runs in 24h; "
        "has a success rate of 93.75% in 24h (6 failed, 0 partial of 96 runs)"
    )
    assert lines["Never"] == (
        f"❌ Client Never ({never}) has never run successfully (added 25.0 hours ago); "
        "has a success rate of 0.00% in 24h (2 failed, 0 partial of 2 runs)"
    )
    assert result.level == Level.ERROR
    assert result.summary == "3 client(s): 1 ✅, 1 ⚠️, 1 ❌"
    figures = result.figures()
    assert figures == {
        "clients_checked": 3,
        "clients_ok": 1,
        "clients_warn": 1,
        "clients_error": 1,
        "runs_24h": 96 + 96 + 2,
        "successful_runs_24h": 186,
        "failed_runs_24h": 8,
        "partial_runs_24h": 0,
        "skipped_runs_24h": 0,
        "leads_de_enrolled_24h": 192,
        "success_rate_24h_pct": round(100 * 186 / 194, 2),
        "max_hours_since_success": 25.0,
        "max_avg_duration_ms_24h": 1000.0,
    }
    assert set(result.client_findings()) == {flaky, never}
    assert "| ❌ | Never |" in result.tables()["clients_needing_attention"]

    only_ok = evaluate_de_enrollment_health(conn, [ok])
    assert [c.client_id for c in only_ok.clients] == [ok] and only_ok.level == Level.PASSED
    assert only_ok.summary == "✅ All 1 client(s) processed successfully in last 24h"
    assert evaluate_de_enrollment_health(conn, [gone]).clients == []  # the SOP's view covers active clients
