"""De-enrollment history (runs and lead-log rows) at chosen instants, and ways to compare it before and after."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from campaign_ops_tests.factories import add_campaign, add_client, add_lead

RUN_COLUMNS = (
    "id, run_at, client_id, status, leads_evaluated, leads_de_enrolled, leads_skipped, duration_ms, error_details,"
    " batch_size, dagster_run_id, finished_at"
)
LOG_COLUMNS = (
    "id, run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome, messages_received, error_message,"
    " processed_at"
)


def add_run(conn: Connection, client_id: str, run_at: datetime, *, status: str = "success") -> str:
    run_id = str(uuid.uuid4())
    conn.execute(
        text(
            "INSERT INTO de_enrollment_runs (id, run_at, client_id, status, leads_evaluated, leads_de_enrolled,"
            " duration_ms, batch_size, dagster_run_id, finished_at, error_details)"
            " VALUES (:id, :at, :client, :status, 7, 2, 1234, 100, 'dagster-' || :id, :at + interval '2 seconds',"
            " CASE WHEN :status = 'failed' THEN 'boom' END)"
        ),
        {"id": run_id, "at": run_at, "client": client_id, "status": status},
    )
    return run_id


def add_log(
    conn: Connection,
    run_id: str,
    lead_id: str,
    client_id: str,
    campaign_id: str,
    processed_at: datetime,
    *,
    action: str = "de_enrolled",
) -> int:
    return conn.execute(
        text(
            "INSERT INTO de_enrollment_lead_log (run_id, lead_id, client_id, campaign_id, enrolled_at, action,"
            " outcome, messages_received, error_message, processed_at)"
            " VALUES (:run, :lead, :client, :campaign, :at - interval '30 days', :action,"
            " CASE WHEN :action = 'de_enrolled' THEN 'completed' END, 3,"
            " CASE WHEN :action = 'error' THEN 'bad lead' END, :at) RETURNING id"
        ),
        {
            "run": run_id,
            "lead": lead_id,
            "client": client_id,
            "campaign": campaign_id,
            "at": processed_at,
            "action": action,
        },
    ).scalar_one()


def everything(conn: Connection, client_id: str) -> dict[str, list[tuple]]:
    """The client's runs and lead-log rows, live and archived together, without archive bookkeeping:
    equal before and after an archival means no row was lost, doubled or altered."""
    result = {
        "runs": [
            tuple(r)
            for r in conn.execute(
                text(
                    f"SELECT {RUN_COLUMNS} FROM de_enrollment_runs WHERE client_id = :c UNION ALL"
                    f" SELECT {RUN_COLUMNS} FROM de_enrollment_runs_archive WHERE client_id = :c ORDER BY 1"
                ),
                {"c": client_id},
            )
        ],
        "logs": [
            tuple(r)
            for r in conn.execute(
                text(
                    f"SELECT {LOG_COLUMNS} FROM de_enrollment_lead_log WHERE client_id = :c UNION ALL"
                    f" SELECT {LOG_COLUMNS} FROM de_enrollment_lead_log_archive WHERE client_id = :c ORDER BY 1"
                ),
                {"c": client_id},
            )
        ],
    }
    conn.rollback()
    return result


def where_rows_are(conn: Connection, client_id: str) -> dict[str, list[tuple]]:
    """Each table on its own, archived_at included: equal means nothing at all was written."""
    tables = (
        "de_enrollment_runs",
        "de_enrollment_runs_archive",
        "de_enrollment_lead_log",
        "de_enrollment_lead_log_archive",
    )
    result = {
        table: [
            tuple(r)
            for r in conn.execute(text(f"SELECT * FROM {table} WHERE client_id = :c ORDER BY id"), {"c": client_id})
        ]
        for table in tables
    }
    conn.rollback()
    return result


def client_with_history(conn: Connection, name: str, now: datetime) -> str:
    """Runs 120, 60 and 10 days old with one lead-log row each: 2 rows past 30 days, 1 run past 90 days."""
    client = add_client(conn, name=name)
    campaign = add_campaign(conn, client)
    for age in (120, 60, 10):
        at = now - timedelta(days=age)
        run = add_run(conn, client, at)
        add_log(conn, run, add_lead(conn, client, campaign, active=False), client, campaign, at)
    return client


def clients_with_history(conn: Connection, count: int) -> list[str]:
    """`count` clients named 'Client i', each with the history of client_with_history; committed."""
    now = conn.execute(text("SELECT now()")).scalar_one()
    clients = [client_with_history(conn, f"Client {i}", now) for i in range(count)]
    conn.commit()
    return clients
