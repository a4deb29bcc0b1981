"""`campaign-ops stuck-clients`: the hardening report's operator view of stuck onboarding clients."""

import json

import click

from campaign_ops.db.engine import disposing_connection
from campaign_ops.onboarding.core import SEVERITIES, detect_stuck_clients

ICONS = {"LOW": "🟡", "MEDIUM": "🟠", "HIGH": "🔴"}


@click.command("stuck-clients")
@click.option("--severity", type=click.Choice(SEVERITIES, case_sensitive=False), help="Only this severity.")
@click.option("--terminal", is_flag=True, help="Only clients in a state that never progresses by itself.")
@click.option(
    "--json", "as_json", is_flag=True, help="Seed 004's JSON: timestamp, total, byState, bySeverity, clients."
)
def stuck_clients_command(severity: str | None, terminal: bool, as_json: bool) -> None:
    """Clients stuck in onboarding longer than their state's threshold (stamps stuck_detected_at)."""
    with disposing_connection() as conn, conn.begin():
        report = detect_stuck_clients(conn).filtered(
            severity=severity.upper() if severity else None, terminal_only=terminal
        )
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
        return
    if not report.clients:
        click.echo("✅ no onboarding client is stuck")
        return
    for c in report.clients:
        terminal_note = " (terminal: needs a person)" if c.is_terminal else ""
        payment = "" if c.payment_active else ", no payment"
        click.echo(
            f"{ICONS[c.severity]} {c.severity:<6} {c.company_name} ({c.client_id}) in {c.state} for "
            f"{c.minutes_in_state / 60:.1f} h (threshold {c.threshold_minutes} min{payment}){terminal_note}"
        )
    by_severity = ", ".join(f"{n} {s}" for s, n in report.by_severity.items() if n)
    click.echo(f"{len(report.clients)} stuck: {by_severity}")
