"""Leads of one person: the factories' leads with a phone and an email."""

from sqlalchemy import Connection, text

from campaign_ops_tests.factories import add_lead


def add_person_lead(
    conn: Connection,
    client_id: str,
    campaign_id: str | None,
    *,
    phone: str | None = None,
    email: str | None = None,
    **kwargs: object,
) -> str:
    lead = add_lead(conn, client_id, campaign_id, **kwargs)  # type: ignore[arg-type]
    conn.execute(text("UPDATE leads SET phone = :p, email = :e WHERE id = :i"), {"p": phone, "e": email, "i": lead})
    return lead


def opt_out(conn: Connection, lead_id: str) -> None:
    conn.execute(text("UPDATE leads SET opted_out = true WHERE id = :i"), {"i": lead_id})
    conn.commit()


def advance(conn: Connection, lead_id: str) -> None:
    """What the platform does when it sends a message."""
    conn.execute(
        text("UPDATE leads SET current_message_position = current_message_position + 1 WHERE id = :i"), {"i": lead_id}
    )
    conn.commit()


def active(conn: Connection, lead_id: str) -> bool:
    return bool(conn.execute(text("SELECT is_active FROM leads WHERE id = :i"), {"i": lead_id}).scalar_one())
