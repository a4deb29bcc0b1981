"""Campaigns whose true counters are known by construction, and ways to read and damage them."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text

from campaign_ops_tests.factories import add_campaign, add_lead

COUNTERS = ("active_leads_count", "completed_leads_count", "opted_out_count", "booked_count")


@dataclass(frozen=True)
class Leads:
    """How many leads of each kind a campaign gets; each kind adds to exactly one counter."""

    active: int = 0  # is_active, not opted out, not completed
    completed: int = 0  # inactive, completed_at set
    opted_out: int = 0  # inactive, opted out
    booked: int = 0  # inactive, booked a meeting

    @property
    def counters(self) -> tuple[int, int, int, int]:
        return (self.active, self.completed, self.opted_out, self.booked)


def add_campaign_with_leads(conn: Connection, client_id: str, leads: Leads, *, name: str | None = None) -> str:
    campaign_id = add_campaign(conn, client_id, name=name)
    for _ in range(leads.active):
        add_lead(conn, client_id, campaign_id, position=1)
    for _ in range(leads.completed):
        add_lead(conn, client_id, campaign_id, position=3, active=False, completed_at=datetime.now(UTC))
    for _ in range(leads.opted_out):
        add_lead(conn, client_id, campaign_id, position=1, active=False, opted_out=True)
    for _ in range(leads.booked):
        add_lead(conn, client_id, campaign_id, position=2, active=False, booked=True)
    return campaign_id


def refresh_all_counters(conn: Connection) -> int:
    return conn.execute(
        text("SELECT COALESCE(refresh_campaign_counters(array_agg(id)), 0) FROM campaigns")
    ).scalar_one()


def set_counter(conn: Connection, campaign_id: str, counter: str, value: int) -> None:
    assert counter in COUNTERS
    conn.execute(
        text(f"UPDATE campaigns SET {counter} = :v WHERE id = :id"),  # counter is one of four known names
        {"v": value, "id": campaign_id},
    )


def counters(conn: Connection, campaign_id: str) -> tuple[int, int, int, int]:
    row = conn.execute(text(f"SELECT {', '.join(COUNTERS)} FROM campaigns WHERE id = :id"), {"id": campaign_id}).one()
    return tuple(row)  # type: ignore[return-value]


def campaigns_snapshot(conn: Connection) -> list[tuple]:
    """Every column of every campaign (updated_at included): equal snapshots mean nothing was written."""
    return [tuple(r) for r in conn.execute(text("SELECT * FROM campaigns ORDER BY id"))]


def log_rows(conn: Connection) -> list[tuple]:
    return [
        tuple(r)
        for r in conn.execute(
            text(
                "SELECT campaign_id::text, counter, reported, actual, difference, client_id::text, dagster_run_id,"
                " reconciliation_id::text FROM stats_reconciliation_log ORDER BY id"
            )
        )
    ]
