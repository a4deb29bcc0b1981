"""Set-based builders for checks and reports tests: many leads or runs in one statement each."""

import json
import uuid

from sqlalchemy import Connection, text


def add_leads(
    conn: Connection,
    client_id: str,
    campaign_id: str,
    *,
    count: int,
    position: int,
    active: bool = True,
    opted_out: bool = False,
    booked: bool = False,
    completed: bool = False,
) -> None:
    """`count` leads of one campaign, all alike."""
    conn.execute(
        text(
            "INSERT INTO leads (client_id, campaign_link_id, first_name, current_message_position, is_active,"
            " opted_out, booked_meeting, completed_at, enrolled_at)"
            " SELECT :client, :campaign, 'Bulk ' || n, :pos, :active, :opted, :booked,"
            "        CASE WHEN :completed THEN now() - interval '1 day' END, now() - interval '10 days'"
            "   FROM generate_series(1, :count) AS n"
        ),
        {
            "client": client_id,
            "campaign": campaign_id,
            "pos": position,
            "active": active,
            "opted": opted_out,
            "booked": booked,
            "completed": completed,
            "count": count,
        },
    )


def refresh_counters(conn: Connection, campaign_ids: list[str] | None = None) -> None:
    """Counters consistent with the leads (what de-enrollment and reconciliation maintain); all campaigns when
    no ids are given."""
    conn.execute(
        text(
            "SELECT refresh_campaign_counters(array_agg(id)) FROM campaigns"
            " WHERE CAST(:ids AS uuid[]) IS NULL OR id = ANY(CAST(:ids AS uuid[]))"
        ),
        {"ids": campaign_ids},
    )


def add_runs(
    conn: Connection,
    client_id: str,
    *,
    status: str = "success",
    count: int = 1,
    minutes_ago: float = 1.0,
    spacing_minutes: float = 1.0,
    duration_ms: int | None = 1000,
    de_enrolled: int = 0,
    error_details: str | None = None,
) -> list[str]:
    """`count` de_enrollment_runs rows, the newest `minutes_ago` minutes ago, then every `spacing_minutes`."""
    return list(
        conn.execute(
            text(
                "INSERT INTO de_enrollment_runs (run_at, client_id, status, leads_evaluated, leads_de_enrolled,"
                " duration_ms, error_details, finished_at)"
                " SELECT now() - make_interval(secs => (:ago + (n - 1) * :spacing) * 60), :client, :status,"
                "        :de_enrolled, :de_enrolled, :duration, :error, now()"
                "   FROM generate_series(1, :count) AS n RETURNING id::text"
            ),
            {
                "ago": minutes_ago,
                "spacing": spacing_minutes,
                "client": client_id,
                "status": status,
                "de_enrolled": de_enrolled,
                "duration": duration_ms,
                "error": error_details,
                "count": count,
            },
        ).scalars()
    )


def add_log_entry(
    conn: Connection, run_id: str, lead_id: str, client_id: str, campaign_id: str, enrolled_at: object
) -> None:
    conn.execute(
        text(
            "INSERT INTO de_enrollment_lead_log (run_id, lead_id, client_id, campaign_id, enrolled_at, action,"
            " outcome, messages_received) VALUES (:run, :lead, :client, :campaign, :enrolled, 'de_enrolled',"
            " 'completed', 3)"
        ),
        {"run": run_id, "lead": lead_id, "client": client_id, "campaign": campaign_id, "enrolled": enrolled_at},
    )


def history_entry(campaign_id: str, enrolled_at: str) -> dict:
    return {
        "campaign_id": campaign_id,
        "campaign_name": "c",
        "enrolled_at": enrolled_at,
        "ended_at": "2026-01-02T00:00:00+00:00",
        "messages_received": 3,
        "outcome": "completed",
    }


def set_history(conn: Connection, lead_id: str, entries: list[dict]) -> None:
    conn.execute(
        text("UPDATE leads SET campaign_history = CAST(:h AS jsonb) WHERE id = :id"),
        {"h": json.dumps(entries), "id": lead_id},
    )


def new_uuid() -> str:
    return str(uuid.uuid4())
