"""`campaign-ops demo …`: demo data."""

import time

import click

from campaign_ops.db.engine import disposing_connection
from campaign_ops.demo.seed import seed_demo_data


@click.group("demo")
def demo_group() -> None:
    """Demo data for trying the project."""


@demo_group.command("seed")
@click.option("--clients", type=click.IntRange(1, 10000), default=5, show_default=True)
@click.option("--campaigns-per-client", type=click.IntRange(1), default=3, show_default=True)
@click.option("--leads", type=click.IntRange(0), default=5000, show_default=True, help="Leads in all.")
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed, same data.")
def seed_command(clients: int, campaigns_per_client: int, leads: int, seed: int) -> None:
    """Replace the demo clients of SEED with fresh, reproducible data (one client inactive)."""
    started = time.monotonic()
    with disposing_connection() as conn, conn.begin():
        summary = seed_demo_data(
            conn, clients=clients, campaigns_per_client=campaigns_per_client, leads=leads, seed=seed
        )
    click.echo(
        f"seeded {summary.clients} clients ({summary.inactive_clients} inactive), {summary.campaigns} campaigns, "
        f"{summary.leads} leads: {summary.completable} completable, {summary.opted_out_waiting} opted out and "
        f"{summary.booked_waiting} booked awaiting de-enrollment, {summary.already_completed} already completed "
        f"in {time.monotonic() - started:.1f}s"
    )
