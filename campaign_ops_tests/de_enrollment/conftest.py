from dataclasses import dataclass, field

import pytest
from sqlalchemy import Connection, Engine, text

from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.due import settle
from campaign_ops.de_enrollment.runs import SweepResult
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops_tests.alerts.conftest import clock, database, driver, instance, slack, slack_alerts  # noqa: F401
from campaign_ops_tests.factories import add_campaign, add_client, add_lead


@dataclass
class ClientData:
    client_id: str
    campaign_id: str  # 3 messages
    due_completed: list[str] = field(default_factory=list)  # position >= 3
    in_progress: list[str] = field(default_factory=list)  # position < 3
    opted_out: list[str] = field(default_factory=list)
    booked: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)  # already inactive and completed


def make_client(conn: Connection, *, active: bool = True, due: int = 4, in_progress: int = 3) -> ClientData:
    client = add_client(conn, active=active)
    campaign = add_campaign(conn, client, messages=3)
    data = ClientData(client, campaign)
    data.due_completed = [add_lead(conn, client, campaign, position=3 + i % 2) for i in range(due)]
    data.in_progress = [add_lead(conn, client, campaign, position=i % 3) for i in range(in_progress)]
    data.opted_out = [add_lead(conn, client, campaign, position=1, opted_out=True)]
    data.booked = [add_lead(conn, client, campaign, position=0, booked=True)]
    data.finished = [add_lead(conn, client, campaign, position=3, active=False, completed_at=None) for _ in range(1)]
    conn.execute(
        text("UPDATE leads SET completed_at = now() - interval '3 days' WHERE id = :i"), {"i": data.finished[0]}
    )
    conn.execute(text("SELECT refresh_campaign_counters(ARRAY[CAST(:c AS uuid)])"), {"c": campaign})
    return data


@pytest.fixture
def two_clients(conn: Connection) -> tuple[ClientData, ClientData]:
    a, b = make_client(conn), make_client(conn, due=2)
    conn.commit()
    return a, b


def run(engine: Engine, *client_ids: str, **settings: object) -> SweepResult:
    return de_enroll_clients(engine, list(client_ids), DeEnrollmentSettings(**settings))  # type: ignore[arg-type]


def lead_state(conn: Connection, lead_id: str) -> dict:
    return dict(
        conn.execute(
            text(
                "SELECT is_active, completed_at, campaign_history, opted_out, booked_meeting FROM leads WHERE id = :i"
            ),
            {"i": lead_id},
        )
        .mappings()
        .one()
    )


def snapshot(conn: Connection, client_id: str | None = None) -> list[tuple]:
    """Every lead and campaign of one client (or all), for 'nothing changed' comparisons."""
    where = "WHERE client_id = CAST(:c AS uuid)" if client_id else ""
    rows = conn.execute(
        text(
            f"SELECT row(l.*)::text FROM leads l {where}"
            f" UNION ALL SELECT row(c.*)::text FROM campaigns c {where} ORDER BY 1"
        ),
        {"c": client_id},
    )
    conn.commit()
    return [tuple(r) for r in rows]


# --- the due-lead queue: what it holds, and what the rule would de-enroll now ---


def queued(conn: Connection) -> set[str]:
    ids = {str(i) for i in conn.execute(text("SELECT lead_id FROM de_enrollment_due_queue")).scalars()}
    conn.commit()
    return ids


def due_by_the_rule(conn: Connection) -> set[str]:
    """The leads de_enroll_client_leads (the one place the rules live) de-enrolls now, every client: run for
    real in a transaction that is rolled back, so the test follows the function instead of copying it."""
    conn.commit()
    with conn.begin() as tx:
        clients = [str(c) for c in conn.execute(text("SELECT id FROM clients")).scalars()]
        ids: set[str] = set()
        for client in clients:
            run_id = conn.execute(
                text("INSERT INTO de_enrollment_runs (client_id) VALUES (:c) RETURNING id"), {"c": client}
            ).scalar_one()
            conn.execute(text("SELECT de_enroll_client_leads(:r, :c)"), {"r": run_id, "c": client})
            ids |= {
                str(i)
                for i in conn.execute(
                    text("SELECT lead_id FROM de_enrollment_lead_log WHERE run_id = :r AND action = 'de_enrolled'"),
                    {"r": run_id},
                ).scalars()
            }
        tx.rollback()
    return ids


def settle_all(conn: Connection) -> None:
    conn.commit()
    with conn.begin():
        settle(conn, None)
