"""`campaign-ops lead history`: a lead's evidence from the live and archived lead logs, by lead id, phone or email;
bad input is one line and a non-zero exit. And the evidence is kept: archival moves it, never deletes it, even
four years on (the time injected)."""

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, text

from campaign_ops.archival.core import ArchivalSettings, archive_clients
from campaign_ops.cli import main
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.due import settle
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops_tests.compliance.helpers import add_person_lead, advance, opt_out
from campaign_ops_tests.factories import add_campaign, add_client


def person_who_stopped(conn: Connection, engine: Engine) -> tuple[str, str, str]:
    """A person enrolled twice with one client who opted out in one enrollment, then got a message anyway."""
    client = add_client(conn, name="Acme")
    spring, autumn = add_campaign(conn, client, messages=5), add_campaign(conn, client, messages=5)
    stopped = add_person_lead(conn, client, spring, phone="+14155550123", email="ann@example.com", position=1)
    sibling = add_person_lead(conn, client, autumn, phone="(415) 555-0123", position=1)
    conn.commit()
    opt_out(conn, stopped)
    de_enroll_clients(engine, [client], DeEnrollmentSettings(), dagster_run_id="dagster-run-1")
    settle(conn, [client])  # as the run does after its pass: the lead-log row gets the due moment
    conn.commit()
    advance(conn, stopped)
    return client, stopped, sibling


def history(*args: str) -> list[dict]:
    result = CliRunner().invoke(main, ["lead", "history", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_history_by_lead_id_phone_or_email_is_the_persons_evidence(
    conn: Connection, engine: Engine, db_env: str
) -> None:
    client, stopped, sibling = person_who_stopped(conn, engine)

    by_id = history("--lead-id", stopped)
    assert [h["lead"]["lead_id"] for h in by_id] == [stopped, sibling]
    assert by_id[1]["lead"]["matched"] == "same phone"
    summary = by_id[0]["summary"]
    assert summary["revocation"] == "opted_out" and summary["dagster_run_id"] == "dagster-run-1"
    assert summary["first_seen_at"] is not None and summary["latency_s"] >= 0
    [send] = summary["sends_after_revocation"]
    assert send["what"] == "sent_after_opted_out" and send["note"] == "position 1 -> 2"
    assert f"revoked with lead {stopped} (same phone)" in by_id[1]["summary"]["reason"]

    assert {h["lead"]["lead_id"] for h in history("--phone", "415 555 0123")} == {stopped, sibling}
    assert [h["lead"]["lead_id"] for h in history("--email", "ANN@example.com")] == [stopped]
    assert history("--email", "ann@example.com", "--client", "Acme")[0]["lead"]["client_id"] == client

    text_output = CliRunner().invoke(main, ["lead", "history", "--lead-id", stopped])
    assert text_output.exit_code == 0, text_output.output
    assert "sends after revocation: 1 ❌" in text_output.output and "dagster-run-1" in text_output.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lead-id", "not-a-uuid"], "--lead-id 'not-a-uuid' is not a uuid"),
        (["--phone", "call me"], "--phone 'call me' is not a phone number"),
        (["--phone", "12"], "is not a"),
        (["--email", "ann@"], "--email 'ann@' is not an email address"),
        ([], "give exactly one of --lead-id, --phone, --email"),
        (["--email", "a@b.io", "--phone", "+14155550123"], "give exactly one of"),
        (["--email", "a@b.io", "--client-id", "nope"], "nope"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(db_env: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["lead", "history", *args])
    assert result.exit_code == 1, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_no_lead_found_exits_1(db_env: str) -> None:
    result = CliRunner().invoke(main, ["lead", "history", "--email", "nobody@example.com"])
    assert result.exit_code == 1 and "no lead matches" in result.output


def test_the_evidence_is_kept_four_years_and_more_archived_never_deleted(
    conn: Connection, engine: Engine, db_env: str
) -> None:
    client, stopped, _sibling = person_who_stopped(conn, engine)
    before = history("--lead-id", stopped)
    now = conn.execute(text("SELECT now()")).scalar_one()
    conn.rollback()

    for years in (1, 4, 5):  # the monthly archival, run as if that much later
        archive_clients(engine, [client], ArchivalSettings(), as_of=now + timedelta(days=365 * years + 1))

    assert conn.execute(text("SELECT count(*) FROM de_enrollment_lead_log")).scalar_one() == 0
    assert conn.execute(text("SELECT count(*) FROM de_enrollment_lead_log_archive")).scalar_one() == 2
    assert conn.execute(text("SELECT count(*) FROM compliance_sends_after_revocation")).scalar_one() == 1
    after = history("--lead-id", stopped)
    assert [h["summary"] for h in after] == [h["summary"] for h in before]
    assert all(e["archived"] for h in after for e in h["events"] if e["source"] == "lead_log")
