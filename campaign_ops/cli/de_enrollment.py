"""`campaign-ops de-enroll` and `migrate-stuck-leads`: the SOP's script, on the same core as the Dagster job."""

import getpass
from typing import cast

import click
from tqdm import tqdm

from campaign_ops.cli.clients import accepts_client_names
from campaign_ops.cli.types import NON_BLANK, bounded_int
from campaign_ops.clients.partition_keys import client_names
from campaign_ops.clients.scope import active_client_ids, require_clients
from campaign_ops.db.engine import connect, disposing_connection, disposing_engine
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.runs import ClientResult, SweepResult
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.de_enrollment.skipped import Decision, pending_skipped, resolve_skipped
from campaign_ops.errors import ConfigError
from campaign_ops.sqlfiles import load_sql

ICONS = {"success": "✅", "partial": "⚠️", "skipped": "⏭️", "failed": "❌"}


def _run(client_ids: tuple[str, ...], all_clients: bool, settings: DeEnrollmentSettings) -> SweepResult:
    if bool(client_ids) == all_clients:
        raise ConfigError("give --client NAME / --client-id UUID (one or more) or --all")
    # pooled: the sweep opens a connection per client
    with disposing_engine(pooled=True) as engine:
        with connect(engine) as conn:
            ids = active_client_ids(conn) if all_clients else require_clients(conn, client_ids)
        with tqdm(total=len(ids), unit="client", desc="de-enrolling", leave=False, disable=None) as bar:

            def done(r: ClientResult) -> None:
                bar.update(1)
                bar.set_postfix_str(f"{r.leads_de_enrolled} de-enrolled")

            return de_enroll_clients(engine, ids, settings, on_client_done=done, log_line=lambda _: None)


def _print(sweep: SweepResult) -> None:
    for r in sweep.clients:
        line = (
            f"{ICONS[r.status]} {r.client_name or r.client_id} ({r.client_id}): {r.status} — "
            f"{r.leads_de_enrolled} de-enrolled of {r.leads_evaluated} evaluated "
            f"(completed {r.completed}, opted out {r.opted_out}, booked {r.booked}) in {r.duration_ms} ms"
        )
        if r.error_details:
            line += f" — {r.error_details}"
        click.echo(line)
    click.echo(
        f"{len(sweep.clients)} client(s), {sweep.leads_de_enrolled} leads de-enrolled in {sweep.duration_ms} ms; "
        f"{len(sweep.failed)} failed"
    )


def _say_locked_out(sweep: SweepResult) -> None:
    """Work left undone because another session held a client's lock to the end: said, and a non-zero exit."""
    if sweep.locked_out:
        names = ", ".join(r.client_name or r.client_id for r in sweep.locked_out)
        click.echo(
            f"error: {len(sweep.locked_out)} client(s) with due leads left undone, their lock held by another "
            f"session (named above): {names}; run again once it ends",
            err=True,
        )


@click.command("de-enroll")
@click.option("--client-id", "client_ids", multiple=True, type=NON_BLANK, help="A client uuid (repeatable).")
@accepts_client_names
@click.option("--all", "all_clients", is_flag=True, help="Every active client.")
@click.option(
    "--batch-size", type=bounded_int(), help="Leads per batch on the SOP path [env DE_ENROLLMENT_BATCH_SIZE, 100]."
)
@click.option(
    "--max-runtime", "max_runtime_ms", type=bounded_int(), help="Budget in ms [env DE_ENROLLMENT_MAX_RUNTIME, 240000]."
)
@click.option(
    "--chunk-size", type=bounded_int(), help="Leads per transaction, set-based path [env DE_ENROLLMENT_CHUNK_SIZE]."
)
@click.option("--batched", is_flag=True, help="Use the SOP's get_leads_for_de_enrollment/process batches.")
def de_enroll_command(
    client_ids: tuple[str, ...],
    all_clients: bool,
    batch_size: int | None,
    max_runtime_ms: int | None,
    chunk_size: int | None,
    batched: bool,
) -> None:
    """De-enroll leads that completed their sequence, opted out or booked (exit 1 if a client failed)."""
    settings = DeEnrollmentSettings.from_env(
        batch_size=batch_size,
        max_runtime_ms=max_runtime_ms,
        chunk_size=chunk_size,
        mode="batched" if batched else None,
    )
    sweep = _run(client_ids, all_clients, settings)
    _print(sweep)
    if sweep.connection_lost:
        click.echo(f"error: {sweep.connection_lost}", err=True)
    if sweep.paused:
        click.echo(f"error: {sweep.paused}", err=True)
    _say_locked_out(sweep)
    if sweep.failed or sweep.connection_lost or sweep.paused or sweep.locked_out:
        raise SystemExit(1)


@click.command("migrate-stuck-leads")
@click.option("--max-runtime", "max_runtime_ms", type=bounded_int(), default=3_600_000, show_default=True)
def migrate_stuck_leads_command(max_runtime_ms: int) -> None:
    """The SOP's one-time Phase 3 migration: de-enroll every stuck lead, with a before/after report."""
    with disposing_connection() as conn:
        before: dict[str, int] = dict(conn.execute(load_sql(__file__, "stuck_by_client.sql")).all())
    sweep = _run((), True, DeEnrollmentSettings.from_env(max_runtime_ms=max_runtime_ms))
    with disposing_connection() as conn:
        after: dict[str, int] = dict(conn.execute(load_sql(__file__, "stuck_by_client.sql")).all())
        by_client = {r.client_id: r for r in sweep.clients}
        reported = set(before) | set(after) | set(by_client)
        names = client_names(conn, sorted(reported))
    click.echo("Stuck leads migration report")
    click.echo(f"{'client':<40} {'stuck before':>12} {'de-enrolled':>12} {'stuck after':>12}")
    for client_id in sorted(reported, key=lambda c: names.get(c, c)):
        done = by_client[client_id].leads_de_enrolled if client_id in by_client else 0
        label = f"{names.get(client_id, '')} ({client_id[:8]})"
        click.echo(f"{label:<40} {before.get(client_id, 0):>12} {done:>12} {after.get(client_id, 0):>12}")
    click.echo(
        f"total: {sum(before.values())} stuck before, {sweep.leads_de_enrolled} de-enrolled, "
        f"{sum(after.values())} stuck after (stuck leads of inactive clients are left alone)"
    )
    if sweep.paused:
        click.echo(f"error: {sweep.paused}", err=True)
    _say_locked_out(sweep)
    if sweep.failed or sweep.paused or sweep.locked_out:
        raise SystemExit(1)


@click.command("resolve-skipped")
@click.option("--lead-id", "lead_ids", multiple=True, help="A skipped lead's uuid (repeatable).")
@click.option(
    "--as",
    "decision",
    type=click.Choice(["new-enrollment", "de-enrolled"]),
    help="new-enrollment: re-open it, the next pass de-enrolls it again; de-enrolled: put it back as it was.",
)
@click.option("--reason", help="Why (recorded in the lead log).")
@click.option("--by", "by", help="Who decides (recorded in the lead log) [the OS user].")
@click.option("--list", "list_only", is_flag=True, help="List the leads waiting for a decision and exit.")
def resolve_skipped_command(
    lead_ids: tuple[str, ...], decision: str | None, reason: str | None, by: str | None, list_only: bool
) -> None:
    """Decide on leads a pass skipped because their enrollment was already de-enrolled (one transaction)."""
    with disposing_connection() as conn:
        if list_only:
            pending = pending_skipped(conn)
            conn.rollback()
            for p in pending:
                click.echo(f"{p.lead_id}  client {p.client_id}  campaign {p.campaign_id}  — {p.reason}")
            click.echo(f"{len(pending)} lead(s) waiting for a decision")
            return
        if decision is None:
            raise ConfigError("give --as new-enrollment or --as de-enrolled (or --list)")
        done = resolve_skipped(
            conn,
            lead_ids,
            cast(Decision, decision),  # click.Choice already limited it to the two decisions
            reason=reason or "",
            by=by or getpass.getuser(),
        )
    then = "the next pass de-enrolls them again" if decision == "new-enrollment" else "they are de-enrolled again"
    click.echo(f"{len(done)} lead(s) resolved as {decision}: {then}; recorded in the lead log")
