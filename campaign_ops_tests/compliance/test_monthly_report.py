"""The monthly compliance report per client: opt-outs honored, p50/p95/max time to honor, sends after revocation
(live and archived evidence), as the asset records it and `campaign-ops compliance report` prints it."""

import json

import dagster as dg
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, text

from campaign_ops.cli import main
from campaign_ops.compliance.core import monthly_compliance_report
from campaign_ops.compliance.defs import monthly_compliance_report_asset
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.compliance.helpers import add_person_lead, advance, opt_out
from campaign_ops_tests.factories import add_campaign, add_client


def test_a_months_figures_per_client(conn: Connection, engine: Engine, db_env: str) -> None:
    acme, _quiet = add_client(conn, name="Acme"), add_client(conn, name="Quiet")
    spring, autumn = add_campaign(conn, acme, messages=5), add_campaign(conn, acme, messages=5)
    leads = [add_person_lead(conn, acme, spring, email=f"p{i}@x.io") for i in range(3)]
    add_person_lead(conn, acme, autumn, email="p0@x.io")  # the same person as leads[0]
    conn.commit()
    for lead in leads:
        opt_out(conn, lead)
    de_enroll_clients(engine, [acme], DeEnrollmentSettings())
    # the due moments as if seen 10, 20 and 30 s before the de-enrollment, in a month of the database's clock
    conn.execute(
        text(
            "UPDATE de_enrollment_lead_log l SET due_since = l.processed_at - make_interval(secs => v.s)"
            " FROM unnest(CAST(:ids AS uuid[]), ARRAY[10, 20, 30]) AS v(id, s) WHERE l.lead_id = v.id"
        ),
        {"ids": leads},
    )
    conn.commit()
    advance(conn, leads[1])
    month = conn.execute(text("SELECT CAST(date_trunc('month', now()) AS date)")).scalar_one()
    conn.rollback()

    report = monthly_compliance_report(conn, month)
    by_name = {c.client_name: c for c in report.clients}
    a = by_name["Acme"]
    assert (a.opt_outs_honored, a.other_enrollments_revoked, a.sends_after_revocation) == (3, 1, 1)
    assert (a.p50_s, a.max_s) == (20.0, 30.0) and 28.9 < a.p95_s < 30.0  # type: ignore[operator]
    assert by_name["Quiet"].opt_outs_honored == 0 and by_name["Quiet"].p95_s is None

    result = CliRunner().invoke(main, ["compliance", "report", "--month", f"{month:%Y-%m}", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["figures"]["sends_after_revocation"] == 1
    bad = CliRunner().invoke(main, ["compliance", "report", "--month", "2026-13"])
    assert bad.exit_code == 2 and "is not a month" in bad.output

    # the asset's partitions are the months that ended: the same evidence, a month earlier
    conn.execute(
        text(
            "UPDATE de_enrollment_lead_log SET processed_at = processed_at - interval '1 month',"
            " due_since = due_since - interval '1 month'"
        )
    )
    conn.execute(text("UPDATE compliance_sends_after_revocation SET sent_at = sent_at - interval '1 month'"))
    last_month = conn.execute(text("SELECT CAST(date_trunc('month', now()) - interval '1 month' AS date)")).scalar_one()
    conn.commit()
    materialized = dg.materialize(
        [monthly_compliance_report_asset],
        partition_key=f"{last_month:%Y-%m-%d}",
        resources={"database": DatabaseResource(url=db_env)},
    )
    [event] = materialized.asset_materializations_for_node("monthly_compliance_report")
    assert event.metadata["opt_outs_honored"].value == 3
    assert "Acme" in str(event.metadata["compliance_by_client"].value)


def test_the_schedule_asks_for_the_month_that_just_ended() -> None:
    from datetime import UTC, datetime

    from campaign_ops.compliance.defs import monthly_compliance_report_schedule

    for tick, month in (
        (datetime(2026, 12, 1, 5, tzinfo=UTC), "2026-11-01"),
        (datetime(2027, 1, 1, 5, tzinfo=UTC), "2026-12-01"),
    ):
        request = monthly_compliance_report_schedule(dg.build_schedule_context(scheduled_execution_time=tick))
        assert isinstance(request, dg.RunRequest) and request.partition_key == month
