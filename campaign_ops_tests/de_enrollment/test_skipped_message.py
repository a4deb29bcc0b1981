"""A skipped lead's lead-log message tells operators the command that decides on it, as it is typed."""

from sqlalchemy import Connection, Engine, text

from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops_tests.de_enrollment.conftest import make_client


def test_a_skipped_leads_message_names_the_real_command(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=1)
    conn.commit()
    de_enroll_clients(engine, [data.client_id], DeEnrollmentSettings())
    lead = data.due_completed[0]
    conn.execute(text("UPDATE leads SET is_active = true, completed_at = NULL WHERE id = :l"), {"l": lead})
    conn.commit()
    de_enroll_clients(engine, [data.client_id], DeEnrollmentSettings())
    message = conn.execute(
        text("SELECT error_message FROM de_enrollment_lead_log WHERE lead_id = :l AND action = 'skipped'"), {"l": lead}
    ).scalar_one()
    assert message.endswith("until an operator decides (campaign-ops resolve-skipped)"), message
