"""Small, explicit test data builders (real rows in the real schema, the status report's lesson)."""

import json
import uuid
from datetime import datetime

from sqlalchemy import Connection, text


def add_client(conn: Connection, *, active: bool = True, name: str | None = None) -> str:
    client_id = str(uuid.uuid4())
    conn.execute(
        text(
            "INSERT INTO clients (id, company_name, email, airtable_base_id, is_active)"
            " VALUES (:id, :name, :email, :base, :active)"
        ),
        {
            "id": client_id,
            "name": name or f"Client {client_id[:8]}",
            "email": f"{client_id[:8]}@test.example",
            "base": f"app{client_id[:8]}",
            "active": active,
        },
    )
    return client_id


def add_campaign(conn: Connection, client_id: str, *, messages: int = 3, name: str | None = None) -> str:
    campaign_id = str(uuid.uuid4())
    conn.execute(
        text(
            "INSERT INTO campaigns (id, client_id, name, messages) VALUES (:id, :client, :name, CAST(:msgs AS jsonb))"
        ),
        {
            "id": campaign_id,
            "client": client_id,
            "name": name or f"Campaign {campaign_id[:8]}",
            "msgs": json.dumps([{"step": i + 1, "body": f"m{i + 1}"} for i in range(messages)]),
        },
    )
    return campaign_id


def add_lead(
    conn: Connection,
    client_id: str,
    campaign_id: str | None,
    *,
    position: int = 0,
    active: bool = True,
    opted_out: bool = False,
    booked: bool = False,
    completed_at: datetime | None = None,
    enrolled_at: datetime | None = None,
) -> str:
    lead_id = str(uuid.uuid4())
    conn.execute(
        text(
            "INSERT INTO leads (id, client_id, campaign_link_id, first_name, last_name, current_message_position,"
            " is_active, opted_out, booked_meeting, completed_at, enrolled_at)"
            " VALUES (:id, :client, :campaign, 'Test', 'Lead', :pos, :active, :opted, :booked, :completed,"
            " COALESCE(:enrolled, now() - interval '10 days'))"
        ),
        {
            "id": lead_id,
            "client": client_id,
            "campaign": campaign_id,
            "pos": position,
            "active": active,
            "opted": opted_out,
            "booked": booked,
            "completed": completed_at,
            "enrolled": enrolled_at,
        },
    )
    return lead_id
