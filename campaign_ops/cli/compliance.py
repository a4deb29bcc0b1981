"""`campaign-ops lead history`: each lead's history as evidence; `campaign-ops compliance`: its settings."""

import json
from datetime import datetime
from typing import Any

import click

from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.check_kit.snapshot import read_only_snapshot
from campaign_ops.cli.clients import accepts_client_names
from campaign_ops.compliance.core import (
    LeadHistory,
    lead_history,
    monthly_compliance_report,
    set_phone_region,
    set_revoke_all,
)
from campaign_ops.db.engine import disposing_connection


@click.group("lead")
def lead_group() -> None:
    """One lead (or person) as evidence."""


def _when(value: Any) -> str:
    return (
        value.isoformat(timespec="seconds") if isinstance(value, datetime) else ("—" if value is None else str(value))
    )


def _print(history: LeadHistory) -> None:
    lead, s = history.lead, history.summary()
    state = "active" if lead["is_active"] else "not active"
    flags = ", ".join(f for f, on in (("opted out", lead["opted_out"]), ("booked", lead["booked_meeting"])) if on)
    click.echo(
        f"lead {lead['lead_id']} ({lead['matched']}) of {lead['client_name']} ({lead['client_id']}), campaign "
        f"{lead['campaign_name'] or '—'}: {state}{', ' + flags if flags else ''}, position {lead['position']} of "
        f"{_when(lead['sequence_length'])}, enrolled {_when(lead['enrolled_at'])}"
    )
    if s["revocation"] is not None:
        latency = f"{s['latency_s']:.1f} s" if s["latency_s"] is not None else "—"
        click.echo(
            f"  {s['revocation']}: first seen {_when(s['first_seen_at'])}, de-enrolled {_when(s['de_enrolled_at'])} "
            f"by run {s['de_enrolled_by_run'] or '—'} (Dagster run {s['dagster_run_id'] or '—'}), latency {latency}"
            + (f"; {s['reason']}" if s["reason"] else "")
        )
    sends = s["sends_after_revocation"]
    click.echo(f"  sends after revocation: {len(sends)}" + (" ❌" if sends else ""))
    rows = [
        (
            _when(e["at"]),
            e["what"],
            e["outcome"],
            _when(e["seen_at"]),
            e["run_id"],
            e["position"],
            "archive" if e["archived"] else "live",
            e["note"],
        )
        for e in history.events
    ]
    if rows:
        click.echo(markdown_table(("at", "event", "outcome", "seen at", "run", "position", "where", "note"), rows))
    click.echo("")


@lead_group.command("history")
@click.option("--lead-id", metavar="UUID", help="This lead and its person's other leads with the same client.")
@click.option(
    "--phone",
    metavar="NUMBER",
    help="Every lead with this phone (any format; national read with the "
    "default region, `campaign-ops compliance phone-region`).",
)
@click.option("--email", metavar="ADDR", help="Every lead with this email (case-insensitive).")
@click.option("--client-id", "client_ids", multiple=True, metavar="UUID", help="Only this client's leads (repeatable).")
@accepts_client_names
@click.option("--json", "as_json", is_flag=True, help="One JSON document: the leads, their summaries and events.")
def history_command(
    lead_id: str | None, phone: str | None, email: str | None, client_ids: tuple[str, ...], as_json: bool
) -> None:
    """When the opt-out (or booking, or last message) was first seen, when and by which run it was de-enrolled,
    the latency, the person's other enrollments, restores and operators' decisions, and every send after
    revocation: from the live and archived lead logs. Exit 1 when no lead matches."""
    with disposing_connection() as conn:
        histories = lead_history(conn, lead_id=lead_id, phone=phone, email=email, client_ids=client_ids or None)
    if as_json:
        click.echo(
            json.dumps(
                [{"lead": h.lead, "summary": h.summary(), "events": h.events} for h in histories],
                default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v),
                indent=2,
            )
        )
    else:
        for history in histories:
            _print(history)
    if not histories:
        click.echo("error: no lead matches", err=True)
        raise SystemExit(1)


@click.group("compliance")
def compliance_group() -> None:
    """Compliance settings: how phones are read, and whether an opt-out covers the person."""


@compliance_group.command("phone-region")
@click.argument("region")
def phone_region_command(region: str) -> None:
    """Read national phone formats as REGION's (ISO 3166 code, e.g. US, GB); every lead's phone is normalized
    again, in the database."""
    with disposing_connection() as conn, conn.begin():
        changed = set_phone_region(conn, region)
    click.echo(f"phone region {region.upper()}: {changed} lead phone(s) normalized again")


@compliance_group.command("revoke-all")
@click.option("--client-id", "client_id", metavar="UUID", help="The client.")
@accepts_client_names
@click.option("--on/--off", "on", required=True, help="--off narrows an opt-out to the one lead that opted out.")
@click.option("--reason", required=True, help="Why (recorded).")
@click.option("--by", "by", default=None, help="Who decides (recorded).")
def revoke_all_command(client_id: str | None, on: bool, reason: str, by: str | None) -> None:
    """Whether an opt-out ends every active enrollment of the person with this client (on, the default)."""
    if not client_id:
        raise click.UsageError("give the client: --client NAME or --client-id UUID")
    with disposing_connection() as conn, conn.begin():
        set_revoke_all(conn, client_id, on, reason, by)
    click.echo(f"client {client_id}: an opt-out ends {'every enrollment of the person' if on else 'only that lead'}")


@compliance_group.command("report")
@click.option("--month", required=True, metavar="YYYY-MM", help="The calendar month (UTC).")
@click.option("--json", "as_json", is_flag=True, help="The figures per client as JSON.")
def report_command(month: str, as_json: bool) -> None:
    """The month's compliance report per client (what the monthly_compliance_report asset records)."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise click.BadParameter(f"{month!r} is not a month (YYYY-MM)", param_hint="--month") from None
    with disposing_connection() as conn, read_only_snapshot(conn):
        report = monthly_compliance_report(conn, first)
    if as_json:
        click.echo(
            json.dumps(
                {"month": month, "figures": report.figures(), "clients": [c.__dict__ for c in report.clients]}, indent=2
            )
        )
    else:
        click.echo(report.markdown())
        click.echo("\n" + " | ".join(f"{k}: {v}" for k, v in report.figures().items()))
