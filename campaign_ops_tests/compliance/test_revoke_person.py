"""A revocation covers the person: every other active enrollment of the same client with the same phone (any
format, E.164) or email (any case) is de-enrolled in the same pass, with the reason and the lead that opted out;
never across clients; a client's setting narrows it to the one lead."""

import phonenumbers
import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, text

from campaign_ops.cli import main
from campaign_ops.compliance.core import normalize_phone
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops_tests.compliance.helpers import active, add_person_lead, opt_out
from campaign_ops_tests.factories import add_campaign, add_client


def test_an_opt_out_ends_the_persons_other_enrollments_with_that_client_only(conn: Connection, engine: Engine) -> None:
    client, other_client = add_client(conn), add_client(conn)
    spring, autumn = add_campaign(conn, client, messages=5), add_campaign(conn, client, messages=5)
    elsewhere = add_campaign(conn, other_client, messages=5)
    stopped = add_person_lead(conn, client, spring, phone="+14155550123", email="Ann@Example.com", position=1)
    same_phone = add_person_lead(conn, client, autumn, phone="(415) 555-0123", position=1)
    same_email = add_person_lead(conn, client, autumn, email="ann@example.COM", position=2)
    stranger = add_person_lead(conn, client, autumn, phone="+14155550199", email="bob@example.com", position=1)
    other_clients = add_person_lead(conn, other_client, elsewhere, phone="415-555-0123", email="ann@example.com")
    conn.execute(text("SELECT refresh_campaign_counters(ARRAY(SELECT id FROM campaigns))"))  # right to start with
    conn.commit()
    opt_out(conn, stopped)

    de_enroll_clients(engine, [client, other_client], DeEnrollmentSettings())

    assert not active(conn, stopped) and not active(conn, same_phone) and not active(conn, same_email)
    assert active(conn, stranger) and active(conn, other_clients)
    rows = {
        r.lead_id: r
        for r in conn.execute(
            text("SELECT lead_id::text, action, outcome, error_message, run_id FROM de_enrollment_lead_log")
        )
    }
    assert set(rows) == {stopped, same_phone, same_email}
    assert rows[same_phone].error_message == f"revoked with lead {stopped} (same phone): the person opted out there"
    assert rows[same_email].error_message == f"revoked with lead {stopped} (same email): the person opted out there"
    assert rows[same_phone].outcome == "opted_out" and rows[same_phone].run_id == rows[stopped].run_id
    history = conn.execute(
        text("SELECT campaign_history -> -1 ->> 'outcome' FROM leads WHERE id = :i"), {"i": same_phone}
    ).scalar_one()
    assert history == "opted_out"
    # the run row counts them; the campaigns' counters stay right (no drift)
    assert (
        conn.execute(
            text("SELECT leads_de_enrolled FROM de_enrollment_runs WHERE id = :r"), {"r": rows[stopped].run_id}
        ).scalar_one()
        == 3
    )
    drift = conn.execute(
        text(
            "SELECT count(*) FROM campaigns c WHERE c.id = :a AND c.active_leads_count <>"
            " (SELECT count(*) FROM leads l WHERE l.campaign_link_id = c.id AND l.is_active AND NOT l.opted_out)"
        ),
        {"a": autumn},
    ).scalar_one()
    assert drift == 0


def test_a_client_may_narrow_it_to_the_one_lead(conn: Connection, engine: Engine, db_env: str) -> None:
    client = add_client(conn, name="Narrow")
    spring, autumn = add_campaign(conn, client), add_campaign(conn, client)
    stopped = add_person_lead(conn, client, spring, phone="+14155550123")
    sibling = add_person_lead(conn, client, autumn, phone="+1 415 555 0123")
    conn.commit()
    result = CliRunner().invoke(
        main, ["compliance", "revoke-all", "--client", "Narrow", "--off", "--reason", "contract says per campaign"]
    )
    assert result.exit_code == 0, result.output
    opt_out(conn, stopped)
    de_enroll_clients(engine, [client], DeEnrollmentSettings())
    assert not active(conn, stopped) and active(conn, sibling)


def test_a_group_pass_revokes_too(conn: Connection, engine: Engine) -> None:
    clients = [add_client(conn) for _ in range(3)]
    pairs = []
    for c in clients:
        a, b = add_campaign(conn, c), add_campaign(conn, c)
        pairs.append((add_person_lead(conn, c, a, email="x@y.io"), add_person_lead(conn, c, b, email="X@Y.IO")))
    conn.commit()
    for stopped, _ in pairs:
        opt_out(conn, stopped)
    # a first client alone measures the pace, the others go as one group
    de_enroll_clients(engine, clients, DeEnrollmentSettings())
    assert not any(active(conn, sibling) for _, sibling in pairs)
    assert de_enrolled_per_run(conn) == [2, 2, 2]  # each run row counts its opt-out and the enrollment revoked


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("(415) 555-0123", "US"),
        ("415.555.0123", "US"),
        ("1-415-555-0123", "US"),
        ("+1 415 555 0123", "US"),
        ("+44 7911 123456", "US"),
        ("07911 123456", "GB"),
        ("+33 6 12 34 56 78", "GB"),
        ("030 123456", "DE"),
        ("(415) 555-0123 ext. 12", "US"),
    ],
)
def test_the_databases_e164_agrees_with_phonenumbers(conn: Connection, raw: str, region: str) -> None:
    code = str(phonenumbers.country_code_for_region(region))
    prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""  # type: ignore[union-attr]
    stored = conn.execute(text("SELECT phone_e164(:r, :c, :p)"), {"r": raw, "c": code, "p": prefix}).scalar_one()
    assert stored == normalize_phone(raw, region)


def test_a_new_region_normalizes_the_stored_phones_again(conn: Connection, db_env: str) -> None:
    client = add_client(conn)
    lead = add_person_lead(conn, client, add_campaign(conn, client), phone="07911 123456")
    conn.commit()
    result = CliRunner().invoke(main, ["compliance", "phone-region", "GB"])
    assert result.exit_code == 0, result.output
    stored = conn.execute(text("SELECT phone_e164 FROM lead_contacts WHERE lead_id = :i"), {"i": lead}).scalar_one()
    assert stored == "+447911123456"
    result = CliRunner().invoke(main, ["compliance", "phone-region", "XX"])
    assert result.exit_code == 1 and "unknown phone region 'XX'" in result.output


def test_the_sops_batched_path_revokes_too(conn: Connection, engine: Engine) -> None:
    client = add_client(conn)
    spring, autumn = add_campaign(conn, client), add_campaign(conn, client)
    stopped = add_person_lead(conn, client, spring, phone="+14155550123")
    sibling = add_person_lead(conn, client, autumn, phone="415-555-0123")
    conn.commit()
    opt_out(conn, stopped)
    de_enroll_clients(engine, [client], DeEnrollmentSettings(mode="batched"))
    assert not active(conn, stopped) and not active(conn, sibling)
    assert de_enrolled_per_run(conn) == [2]


def test_a_revocation_is_counted_when_the_sops_batch_finds_nothing(conn: Connection, engine: Engine) -> None:
    """The opted-out lead is held by the platform's write, so the SOP's batch skips it (SKIP LOCKED) and has
    nothing to apply; the sibling revoked before it is still counted on the run row."""
    client = add_client(conn)
    spring, autumn = add_campaign(conn, client), add_campaign(conn, client)
    stopped = add_person_lead(conn, client, spring, phone="+14155550123")
    sibling = add_person_lead(conn, client, autumn, phone="415-555-0123")
    conn.commit()
    opt_out(conn, stopped)
    with engine.connect() as platform:
        platform.execute(text("SELECT 1 FROM leads WHERE id = :i FOR UPDATE"), {"i": stopped})
        de_enroll_clients(engine, [client], DeEnrollmentSettings(mode="batched"))
        platform.rollback()
    assert active(conn, stopped) and not active(conn, sibling)
    assert de_enrolled_per_run(conn) == [1]


def de_enrolled_per_run(conn: Connection) -> list[int]:
    """leads_de_enrolled of every run row, each checked against the lead-log rows of its run."""
    rows = conn.execute(
        text(
            "SELECT r.leads_de_enrolled, (SELECT count(*) FROM de_enrollment_lead_log l"
            " WHERE l.run_id = r.id AND l.action = 'de_enrolled') AS logged"
            " FROM de_enrollment_runs r ORDER BY r.leads_de_enrolled"
        )
    ).all()
    assert all(r.leads_de_enrolled == r.logged for r in rows), rows
    return [r.leads_de_enrolled for r in rows]
