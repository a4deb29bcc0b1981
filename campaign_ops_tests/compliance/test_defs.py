"""The compliance checks in Dagster: evaluated every 5 minutes by their check sensor without a run, naming the
client and the lead; the alert pipeline sees a failed check evaluation like any other."""

import dagster as dg
from sqlalchemy import Connection

from bench.sensor_ticks import record_check_sensor_tick
from campaign_ops.compliance import defs as compliance
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.compliance.helpers import add_person_lead, advance
from campaign_ops_tests.factories import add_campaign, add_client


def test_the_sensor_tick_records_a_failed_error_evaluation_naming_client_and_lead(
    conn: Connection, db_url: str
) -> None:
    client = add_client(conn, name="Acme")
    lead = add_person_lead(conn, client, add_campaign(conn, client), opted_out=True, position=1)
    conn.commit()
    with dg.instance_for_test() as instance:
        ticked = record_check_sensor_tick(compliance.compliance_checks_sensor, instance, DatabaseResource(url=db_url))
        assert {name: e.passed for name, e in ticked.items()} == {
            "messages_after_opt_out": True,
            "unhonored_opt_outs": True,
        }
        advance(conn, lead)
        ticked = record_check_sensor_tick(compliance.compliance_checks_sensor, instance, DatabaseResource(url=db_url))
        sent = ticked["messages_after_opt_out"]
        assert (sent.passed, sent.severity) == (False, dg.AssetCheckSeverity.ERROR)
        assert "Acme" in sent.description and lead in str(sent.metadata["clients_with_findings"].value)
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("leads"), "messages_after_opt_out"), limit=5
        )
        assert len(history) == 2


def test_the_alert_pipeline_raises_check_failed_per_client_naming_the_lead(conn: Connection, db_url: str) -> None:
    from datetime import UTC, datetime

    from campaign_ops.alerts.check_alerts import check_alerts
    from campaign_ops.alerts.check_evaluation import Evaluation

    client = add_client(conn, name="Acme")
    lead = add_person_lead(conn, client, add_campaign(conn, client), opted_out=True, position=1)
    conn.commit()
    advance(conn, lead)
    with dg.instance_for_test() as instance:
        ticked = record_check_sensor_tick(compliance.compliance_checks_sensor, instance, DatabaseResource(url=db_url))
    sent = ticked["messages_after_opt_out"]
    evaluation = Evaluation(
        check="messages_after_opt_out",
        asset="leads",
        passed=sent.passed,
        severity=sent.severity.value,
        description=sent.description,
        metadata=sent.metadata,
        covered=None,
        where_key="all",
        run_id="",
        at=datetime.now(UTC),
        link="http://ui/check",
    )
    (alert,) = check_alerts(evaluation, {client: "Acme"}, "http://ui").firing
    assert (alert.alert_type, alert.key) == ("CHECK_FAILED", f"check_failed:messages_after_opt_out:{client}")
    assert lead in str(alert)
