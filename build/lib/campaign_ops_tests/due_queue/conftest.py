"""Helpers of the due-queue tests: what the queue holds, and what the rule would de-enroll now."""

from sqlalchemy import Connection, text

from campaign_ops.due_queue.core import settle
from campaign_ops_tests.alerts.conftest import clock, database, driver, instance, slack, slack_alerts  # noqa: F401


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
