"""What a check's evaluation stores: every failing client in the findings, tables cut to one screen."""

from sqlalchemy import Connection, text

from campaign_ops.check_kit.dagster_result import outcome_to_check_result
from campaign_ops.check_kit.markdown import UI_TABLE_ROWS
from campaign_ops.check_kit.remedies import FINDINGS_METADATA
from campaign_ops.checks.health import evaluate_de_enrollment_health
from campaign_ops_tests.factories import add_client


def test_many_failing_clients_are_all_in_the_findings_and_the_tables_show_the_first_screen(conn: Connection) -> None:
    failing = UI_TABLE_ROWS + 7
    ids = [add_client(conn, name=f"Client {i:03}") for i in range(failing)]
    # added three days ago and never de-enrolled: each one "has never run successfully" (ERROR past 2 hours)
    conn.execute(text("UPDATE clients SET created_at = now() - interval '3 days'"))

    result = outcome_to_check_result(evaluate_de_enrollment_health(conn), names={})

    assert not result.passed
    findings: dict[str, dict[str, str]] = result.metadata[FINDINGS_METADATA].value  # type: ignore[assignment]
    assert sorted(f["client_id"] for f in findings.values()) == sorted(ids)
    for table in ("client_findings", "clients_needing_attention"):
        shown = str(result.metadata[table].value)
        rows = [line for line in shown.split("\n") if line.startswith("| ")][1:]  # less the header
        assert len(rows) == UI_TABLE_ROWS, table
        assert f"and 7 more rows, not shown here: every client is in `{FINDINGS_METADATA}`" in shown


def test_a_table_within_one_screen_is_shown_whole(conn: Connection) -> None:
    add_client(conn, name="Only Client")
    conn.execute(text("UPDATE clients SET created_at = now() - interval '3 days'"))

    shown = outcome_to_check_result(evaluate_de_enrollment_health(conn), names={}).metadata["client_findings"]

    assert len([line for line in str(shown.value).split("\n") if line.startswith("| ")]) == 2  # the header and its row
    assert "more row" not in str(shown.value)
