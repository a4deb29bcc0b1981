"""`campaign-ops db …`: migrations and schema verification."""

import click

from campaign_ops.db import migrations
from campaign_ops.db.engine import disposing_connection, resolve_database_url
from campaign_ops.db.urls import mask_url
from campaign_ops.db.verify import verify_schema


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade, downgrade, status, verify."""


@db_group.command("upgrade")
@click.option("--to", "target", default="head", show_default=True, help="Revision to upgrade to.")
def upgrade_command(target: str) -> None:
    """Apply pending migrations (safe to run twice at once: the second waits, then does nothing)."""
    url = resolve_database_url()
    applied = migrations.upgrade(url, target)
    current = migrations.status(url).current
    click.echo(f"database {mask_url(url)} at {current or 'base'}; applied: {', '.join(applied) or 'nothing'}")


@db_group.command("downgrade")
@click.option("--to", "target", required=True, help="Revision to go back to; 'base' removes everything.")
def downgrade_command(target: str) -> None:
    """Run rollbacks down to a revision."""
    url = resolve_database_url()
    if target != "base" and target not in migrations.all_revisions():
        raise click.BadParameter(f"unknown revision {target!r}; known: base, {', '.join(migrations.all_revisions())}")
    migrations.downgrade(url, target)
    current = migrations.status(url).current
    click.echo(f"database {mask_url(url)} at {current or 'base'}")


@db_group.command("status")
def status_command() -> None:
    """Show the applied revision and what is pending."""
    url = resolve_database_url()
    st = migrations.status(url)
    click.echo(f"database: {mask_url(url)}")
    click.echo(f"current:  {st.current or 'base'}")
    click.echo(f"head:     {st.head}")
    click.echo(f"pending:  {', '.join(st.pending) if st.pending else 'none'}")


@db_group.command("verify")
def verify_command() -> None:
    """Check every expected table, column, function, view and index; exit 1 if anything is missing."""
    with disposing_connection() as conn:
        items = verify_schema(conn)
    for item in items:
        click.echo(f"{'✅' if item.ok else '❌'} {item.kind:<8} {item.name}")
    missing = [i for i in items if not i.ok]
    click.echo(f"Total checks: {len(items)} | Passed: {len(items) - len(missing)} | Failed: {len(missing)}")
    if missing:
        raise SystemExit(1)
