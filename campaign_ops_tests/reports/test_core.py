"""The reports' figures against the SOP's own queries (bench/sop_queries.py) on the same data,
and against the numbers the data was built with."""

from datetime import date

from sqlalchemy import Connection, text

from bench.sop_queries import SOP_READ_ONLY_QUERIES as SOP
from campaign_ops.reports.core import daily_health_report, weekly_review_report
from campaign_ops_tests.checks.helpers import add_leads, add_runs
from campaign_ops_tests.factories import add_campaign, add_client

DAY = 24 * 60  # minutes


def build_week(conn: Connection) -> dict[str, str]:
    """A week of runs for three clients and some stuck leads (one client inactive, as the SOP counts all)."""
    steady, shaky, late = add_client(conn, name="Steady"), add_client(conn, name="Shaky"), add_client(conn, name="Late")
    gone = add_client(conn, name="Gone", active=False)
    # last 24 h: steady 10 successes, shaky 6 successes + 3 failed + 2 partial, late nothing since 5 h
    add_runs(conn, steady, status="success", count=10, minutes_ago=2, spacing_minutes=15, de_enrolled=4)
    add_runs(conn, shaky, status="success", count=6, minutes_ago=3, spacing_minutes=15, de_enrolled=1)
    add_runs(
        conn, shaky, status="failed", count=3, minutes_ago=4, spacing_minutes=30, duration_ms=5000, error_details="lock"
    )
    add_runs(conn, shaky, status="partial", count=2, minutes_ago=5, spacing_minutes=30, de_enrolled=50)
    add_runs(conn, late, status="success", count=1, minutes_ago=5 * 60, de_enrolled=2)
    # earlier this week: 2 and 4 days ago
    add_runs(conn, steady, status="success", count=5, minutes_ago=2 * DAY + 60, spacing_minutes=10, de_enrolled=3)
    add_runs(
        conn, shaky, status="failed", count=4, minutes_ago=2 * DAY + 90, spacing_minutes=5, error_details="timeout"
    )
    add_runs(conn, late, status="failed", count=1, minutes_ago=4 * DAY, error_details="lock", duration_ms=None)
    # older than a week: in no report
    add_runs(conn, steady, status="failed", count=7, minutes_ago=8 * DAY, error_details="ancient")
    # stuck leads: 12 in active clients, 5 in the inactive one (the SOP's query counts every client)
    add_leads(conn, steady, add_campaign(conn, steady, messages=3), count=12, position=3)
    add_leads(conn, gone, add_campaign(conn, gone, messages=2), count=5, position=2)
    conn.commit()
    return {"steady": steady, "shaky": shaky, "late": late, "gone": gone}


def test_daily_report_matches_the_sop_queries(conn: Connection) -> None:
    ids = build_week(conn)
    report = daily_health_report(conn)

    sop_runs = conn.execute(text(SOP["daily 1 overnight runs"])).one()
    assert (report.total_runs, report.successful, report.failed, report.partial, report.total_processed) == (
        sop_runs.total_runs,
        sop_runs.successful,
        sop_runs.failed,
        sop_runs.partial,
        sop_runs.total_processed,
    )
    assert (report.total_runs, report.successful, report.failed, report.partial) == (22, 17, 3, 2)
    assert report.total_processed == 10 * 4 + 6 * 1 + 2 * 50 + 2

    sop_alerts = {
        (str(r.client_id), r.failed_runs_24h, float(r.hours_since_success))
        for r in conn.execute(text(SOP["daily 2 alerts"]))
    }
    assert {(a.client_id, a.failed_runs_24h, a.hours_since_success) for a in report.alerts} == sop_alerts
    assert {(a.client_name, a.failed_runs_24h) for a in report.alerts} == {("Shaky", 3), ("Late", 0)}

    assert report.stuck_count == conn.execute(text(SOP["daily 3 stuck"])).scalar() == 17
    assert report.active_clients == 3 and report.expected_runs == 288
    assert report.success_rate_pct == round(100 * 17 / 22, 2)
    assert report.figures() == {
        "total_runs": 22,
        "successful_runs": 17,
        "failed_runs": 3,
        "partial_runs": 2,
        "leads_processed": 148,
        "stuck_leads": 17,
        "clients_alerting": 2,
        "active_clients": 3,
        "success_rate_pct": 77.27,
    }
    verdicts = {metric: met for metric, _, _, met in report.expectations()}
    assert verdicts == {"Total runs": False, "Success rate": False, "Failed runs": True, "Stuck leads": True}
    assert report.abnormal
    markdown = report.markdown()
    assert "| 22 | 17 | 3 | 2 | 148 |" in markdown
    assert f"| Shaky | {ids['shaky']} | 3 |" in markdown
    assert "| ⚠️ | Success rate | 77.27% | >95% |" in markdown
    assert "| ✅ | Stuck leads | 17 | <50 |" in markdown


def test_daily_report_on_an_empty_database(conn: Connection) -> None:
    report = daily_health_report(conn)
    assert report.figures() == {
        "total_runs": 0,
        "successful_runs": 0,
        "failed_runs": 0,
        "partial_runs": 0,
        "leads_processed": 0,
        "stuck_leads": 0,
        "clients_alerting": 0,
        "active_clients": 0,
    }
    assert report.success_rate_pct is None


def test_weekly_report_matches_the_sop_queries(conn: Connection) -> None:
    build_week(conn)
    report = weekly_review_report(conn)

    sop_days = [tuple(r) for r in conn.execute(text(SOP["weekly 1 performance"]))]
    assert [(d.date, d.runs, d.successful, d.total_processed, d.avg_duration_ms) for d in report.days] == sop_days
    assert sum(d.runs for d in report.days) == report.runs == 22 + 5 + 4 + 1
    assert report.successful == 17 + 5 and report.leads_processed == 148 + 15
    assert all(isinstance(d.date, date) for d in report.days)

    sizes = conn.execute(text(SOP["weekly 2 growth"])).one()
    assert (report.runs_table_size, report.log_table_size) == (sizes.runs_table_size, sizes.log_table_size)
    assert report.runs_table_bytes > 0 and not report.maintenance_needed

    sop_errors = [tuple(r) for r in conn.execute(text(SOP["weekly 3 top errors"]))]
    assert [(e.error_details, e.occurrences, e.last_seen) for e in report.top_errors] == sop_errors
    assert sorted((e.error_details, e.occurrences) for e in report.top_errors) == [("lock", 4), ("timeout", 4)]

    figures = report.figures()
    assert figures["runs_7d"] == 32 and figures["successful_runs_7d"] == 22 and figures["leads_processed_7d"] == 163
    assert figures["success_rate_7d_pct"] == round(100 * 22 / 32, 2)
    assert figures["distinct_errors_top10"] == 2 and figures["top_error_occurrences"] == 4
    assert figures["runs_table_bytes"] == report.runs_table_bytes
    markdown = report.markdown()
    assert "## 2. Database growth — ✅ below the 10 GB maintenance line" in markdown
    assert f"| de_enrollment_runs | {sizes.runs_table_size} | {report.runs_table_bytes} |" in markdown
    assert "ancient" not in markdown
