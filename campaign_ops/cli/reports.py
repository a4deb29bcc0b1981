"""`campaign-ops health-check`, `campaign-ops check` and `campaign-ops report daily|weekly`.

Each calls the same core functions as the Dagster checks and report assets, in one read-only snapshot with a
statement timeout. Exit codes: 0 fine (warnings included), 2 when something is ❌, 1 for errors (bad input,
unreachable database) — so a script can tell "unhealthy" from "could not tell".
"""

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy import Connection

from campaign_ops.check_kit.outcome import Level
from campaign_ops.check_kit.snapshot import DEFAULT_STATEMENT_TIMEOUT_MS, read_only_snapshot
from campaign_ops.checks.catalog import CHECKS
from campaign_ops.checks.health import evaluate_de_enrollment_health
from campaign_ops.cli.clients import accepts_client_names
from campaign_ops.cli.types import positive_int
from campaign_ops.db.engine import disposing_connection
from campaign_ops.reports.core import daily_health_report, weekly_review_report

UNHEALTHY_EXIT_CODE = 2


@contextmanager
def _snapshot(statement_timeout_ms: int) -> Iterator[Connection]:
    with disposing_connection() as conn, read_only_snapshot(conn, statement_timeout_ms):
        yield conn


_client_option = click.option(
    "--client-id",
    "client_ids",
    multiple=True,
    metavar="UUID",
    help="Only this client (repeatable). Default: every active client.",
)
_timeout_option = click.option(
    "--statement-timeout-ms",
    type=positive_int(),  # statement_timeout takes at most INT_MAX ms
    default=DEFAULT_STATEMENT_TIMEOUT_MS,
    show_default=True,
    help="Cancel a query running longer (the command then fails with the reason).",
)


@click.command("health-check")
@_client_option
@accepts_client_names
@click.option("--only-problems", is_flag=True, help="Print only ⚠️/❌ clients, and the summary line.")
@_timeout_option
def health_check_command(client_ids: tuple[str, ...], only_problems: bool, statement_timeout_ms: int) -> None:
    """One ✅/⚠️/❌ line per active client over the last 24 h (SOP "Manual Health Check Command").

    ❌ no success in over 2 hours; ⚠️ success rate below 95%, more than 5 failed runs, or runs averaging over
    4 minutes. Exit 2 when any client is ❌.
    """
    with _snapshot(statement_timeout_ms) as conn:
        result = evaluate_de_enrollment_health(conn, list(client_ids) or None)
    for client in result.clients:
        if not (only_problems and client.level == Level.PASSED):
            click.echo(client.line())
    click.echo(result.summary)
    if result.level == Level.ERROR:
        raise SystemExit(UNHEALTHY_EXIT_CODE)


@click.command("check")
@click.argument("names", nargs=-1, type=click.Choice(list(CHECKS)))
@_client_option
@accepts_client_names
@_timeout_option
def check_command(names: tuple[str, ...], client_ids: tuple[str, ...], statement_timeout_ms: int) -> None:
    """Run integrity checks now (all by default): one ✅/⚠️/❌ line each, with their tables when not passed.

    The same checks the Dagster asset checks run, with the SOP's default thresholds. Exit 2 on any ❌.
    """
    scope = list(client_ids) or None
    outcomes = []
    with _snapshot(statement_timeout_ms) as conn:
        for name in names or CHECKS:
            outcomes.append(CHECKS[name](conn, scope))
    for outcome in outcomes:
        figures = ", ".join(f"{k}={v}" for k, v in outcome.figures().items())
        click.echo(f"{outcome.level.icon} {outcome.name}: {outcome.summary} [{figures}]")
        if outcome.level != Level.PASSED:
            for title, table in outcome.tables().items():
                if len(table.splitlines()) > 2:  # header and rule only: nothing to show
                    click.echo(f"\n{title}:\n{table}\n")
    if any(o.level == Level.ERROR for o in outcomes):
        raise SystemExit(UNHEALTHY_EXIT_CODE)


@click.command("report")
@click.argument("which", type=click.Choice(["daily", "weekly"]))
@_timeout_option
def report_command(which: str, statement_timeout_ms: int) -> None:
    """The SOP's morning health check (daily) or weekly review (weekly), as the UI shows them."""
    with _snapshot(statement_timeout_ms) as conn:
        report = daily_health_report(conn) if which == "daily" else weekly_review_report(conn)
    click.echo(report.markdown())
    figures = report.figures()
    click.echo("\n" + " | ".join(f"{k}: {v}" for k, v in figures.items()))
