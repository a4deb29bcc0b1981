"""A message sent after revocation is recorded as it happens
(sql/objects/compliance_record_send_after_revocation.sql), the check fails naming client and lead,
and `campaign-ops check messages_after_opt_out` exits 2."""

from click.testing import CliRunner
from sqlalchemy import Connection, Engine, text

from campaign_ops.check_kit.outcome import Level
from campaign_ops.cli import main
from campaign_ops.compliance.core import evaluate_messages_after_opt_out
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops_tests.factories import add_campaign, add_client, add_lead


def advance(conn: Connection, lead_id: str) -> None:
    """What the platform does when it sends a message."""
    conn.execute(
        text("UPDATE leads SET current_message_position = current_message_position + 1 WHERE id = :i"), {"i": lead_id}
    )
    conn.commit()


def recorded(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        text(
            "SELECT lead_id::text, client_id::text, campaign_id::text, old_position, new_position, revoked_as,"
            " revoked_at, sent_at, de_enrolled_by_run::text FROM compliance_sends_after_revocation ORDER BY id"
        )
    )
    return [dict(r._mapping) for r in rows]


def test_a_send_to_an_opted_out_lead_is_recorded_with_when_the_opt_out_was_seen(conn: Connection) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=5)
    lead = add_lead(conn, client, campaign, position=1)
    conn.commit()
    conn.execute(text("UPDATE leads SET opted_out = true WHERE id = :i"), {"i": lead})
    conn.commit()
    seen = conn.execute(text("SELECT due_since FROM de_enrollment_due_queue WHERE lead_id = :i"), {"i": lead}).scalar()
    assert seen is not None

    advance(conn, lead)

    [row] = recorded(conn)
    assert row["lead_id"] == lead and row["client_id"] == client and row["campaign_id"] == campaign
    assert (row["old_position"], row["new_position"], row["revoked_as"]) == (1, 2, "opted_out")
    assert row["revoked_at"] == seen
    assert row["sent_at"] >= seen  # type: ignore[operator]


def test_a_send_after_de_enrollment_names_the_run_and_its_time(conn: Connection, engine: Engine) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=5)
    lead = add_lead(conn, client, campaign, position=1, booked=True)
    conn.commit()
    de_enroll_clients(engine, [client], DeEnrollmentSettings())
    run_id, processed_at = conn.execute(
        text("SELECT run_id::text, processed_at FROM de_enrollment_lead_log WHERE lead_id = :i"), {"i": lead}
    ).one()

    advance(conn, lead)

    [row] = recorded(conn)
    assert row["revoked_as"] == "inactive"
    assert row["revoked_at"] == processed_at and row["de_enrolled_by_run"] == run_id


def test_ordinary_sends_and_other_updates_record_nothing(conn: Connection) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=5)
    active = add_lead(conn, client, campaign, position=1)
    inactive = add_lead(conn, client, campaign, position=3, active=False)
    conn.commit()
    advance(conn, active)  # an active lead: the platform's ordinary send
    conn.execute(text("UPDATE leads SET first_name = 'X' WHERE id = :i"), {"i": inactive})
    # an operator's correction back is not a send
    conn.execute(text("UPDATE leads SET current_message_position = 2 WHERE id = :i"), {"i": inactive})
    conn.commit()
    assert recorded(conn) == []


def test_the_check_names_client_and_lead_and_forgets_after_its_window(conn: Connection) -> None:
    client = add_client(conn, name="Acme")
    campaign = add_campaign(conn, client, messages=5)
    lead = add_lead(conn, client, campaign, position=1, opted_out=True)
    conn.commit()
    assert evaluate_messages_after_opt_out(conn, None).level == Level.PASSED
    advance(conn, lead)

    outcome = evaluate_messages_after_opt_out(conn, None)
    assert outcome.level == Level.ERROR
    assert outcome.figures()["messages_after_revocation"] == 1
    assert outcome.client_findings()[client]["problems"] == [f"lead {lead}"]
    assert lead in outcome.tables()["sends_after_revocation_list"]
    # another client's scope does not see it
    other = add_client(conn)
    conn.commit()
    assert evaluate_messages_after_opt_out(conn, [other]).level == Level.PASSED

    conn.execute(text("UPDATE compliance_sends_after_revocation SET sent_at = now() - interval '25 hours'"))
    conn.commit()
    assert evaluate_messages_after_opt_out(conn, None).level == Level.PASSED


def test_cli_check_exits_2_and_names_the_lead(conn: Connection, db_env: str) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=5)
    lead = add_lead(conn, client, campaign, position=1, opted_out=True)
    conn.commit()
    result = CliRunner().invoke(main, ["check", "messages_after_opt_out"])
    assert result.exit_code == 0, result.output
    advance(conn, lead)

    result = CliRunner().invoke(main, ["check", "messages_after_opt_out"])
    assert result.exit_code == 2, result.output
    assert "❌ messages_after_opt_out" in result.output and lead in result.output
