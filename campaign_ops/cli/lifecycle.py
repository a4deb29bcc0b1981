"""`campaign-ops lifecycle status "<campaign>"`: the implementation review's fact-finding in one command."""

import click

from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.db.engine import disposing_connection
from campaign_ops.lifecycle.core import campaign_status


@click.group("lifecycle")
def lifecycle_group() -> None:
    """Lifecycle (email round) campaigns."""


@lifecycle_group.command("status")
@click.argument("campaign_name")
def status_command(campaign_name: str) -> None:
    """Every round: schedule, status, send time, recipients, latest metrics, notifications, integrity."""
    with disposing_connection() as conn:
        status = campaign_status(conn, campaign_name)
    click.echo(f"Lifecycle campaign: {status.campaign_name}")
    click.echo(
        markdown_table(
            [
                "round",
                "scheduled (UTC)",
                "status",
                "sent at",
                "recipients",
                "mailjet",
                "processed",
                "delivered",
                "bounced",
                "opened",
                "clicked",
                "metrics at",
            ],
            [
                (
                    r["round_number"],
                    f"{r['scheduled_date']} {r['scheduled_time']}",
                    r["status"],
                    r["sent_at"],
                    r["recipient_count"],
                    r["mailjet_campaign_id"],
                    r["processed"],
                    r["delivered"],
                    r["bounced"],
                    r["opened"],
                    r["clicked"],
                    r["collected_at"],
                )
                for r in status.rounds
            ],
        )
    )
    round_of = {r["id"]: r["round_number"] for r in status.rounds}
    click.echo("\nNotifications")
    click.echo(
        markdown_table(
            ["round", "stage", "status", "channel", "scheduled for", "sent at", "created at"],
            [
                (
                    round_of[n["schedule_id"]],
                    n["stage"],
                    n["status"],
                    n["channel"],
                    n["scheduled_for"],
                    n["sent_at"],
                    n["created_at"],
                )
                for n in status.notifications
            ],
        )
    )
    click.echo(f"\n{status.integrity.level.icon} {status.integrity.summary}")
    for v in status.integrity.violations:
        click.echo(f"  round {v.round_number}: {v.kind} — {v.detail}")
