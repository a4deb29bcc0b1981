"""A check's outcome as a Dagster asset check result: one evaluation over every active client (a client a run
asks about answered first), with figures, tables, the clients with findings and what to do; a query that cannot
run is an ERROR evaluation that says why, never "passed"; bad input fails the step with one line."""

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dagster as dg
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.check_kit.markdown import UI_TABLE_ROWS, first_rows, markdown_table
from campaign_ops.check_kit.outcome import CheckOutcome, Level
from campaign_ops.check_kit.remedies import FINDINGS_METADATA, THRESHOLDS_METADATA, findings_by_name, guidance
from campaign_ops.check_kit.snapshot import read_only_snapshot
from campaign_ops.clients.partition_keys import CLIENT_ID_TAG, client_id_of, client_names
from campaign_ops.clients.scope import resolve_scope
from campaign_ops.clients.tags import CLIENT_TAG, PARTITION_TAG
from campaign_ops.errors import CampaignOpsError, DatabaseUnavailableError, error_line
from campaign_ops.resources import DatabaseResource
from campaign_ops.ui_url import dagster_ui_url


def scope_of(context: dg.AssetCheckExecutionContext, client_id: str | None) -> list[str] | None:
    """The clients this evaluation covers: the config's client, else the run's client tag, else None (every
    active client: "Execute", "Execute all", the Launchpad and the schedules launch plain runs, and the check
    sensors evaluate without a run)."""
    tags = _run_tags(context)
    # the id tag first: CLIENT_TAG carries the client's name on runs that client_run_tags labelled
    key = client_id or tags.get(CLIENT_ID_TAG) or tags.get(CLIENT_TAG)
    if key is None and PARTITION_TAG in tags:
        key = tags[PARTITION_TAG]  # a re-execution of a one-client run of the partitioned checks
    return None if key is None else [client_id_of(key)]


def _run_tags(context: dg.AssetCheckExecutionContext) -> Mapping[str, str]:
    """The tags of the run evaluating the check; none when a sensor evaluates it outside any run."""
    try:
        return context.run.tags
    except dg.DagsterError:  # Dagster's "no run on a directly invoked context"
        return {}


def _scope_text(scope: Sequence[str] | None, partitioned: bool = True, names: Mapping[str, str] | None = None) -> str:
    if not partitioned:
        return "whole database"
    if scope is None:
        return "all active clients"
    name = (names or {}).get(scope[0])
    return f"client {name} ({scope[0]})" if name else f"client {scope[0]}"


def outcome_to_check_result(
    outcome: CheckOutcome,
    extra_metadata: dict[str, Any] | None = None,
    *,
    per_client: bool = True,
    names: Mapping[str, str] | None = None,
) -> dg.AssetCheckResult:
    """Figures as numeric metadata (plotted), tables as markdown; over several clients, every client with a
    finding in `clients_with_findings` (JSON, keyed by name) and `client_findings` (a table), the first ones
    named in the description; a check that did not pass names its clients and what to do. Bytes grow with the
    clients that have findings, never with the square of the clients."""
    figures, tables = outcome.figures(), outcome.tables()
    assert not set(figures) & set(tables), "a table would hide a figure of the same name"
    metadata: dict[str, Any] = dict(figures)
    everyone = f": every client is in `{FINDINGS_METADATA}`" if per_client else ""
    metadata.update(
        {name: dg.MetadataValue.md(first_rows(table, UI_TABLE_ROWS, everyone)) for name, table in tables.items()}
    )
    metadata["scope"] = _scope_text(None, per_client, names)
    lines = getattr(outcome, "thresholds", None)
    if dataclasses.is_dataclass(lines) and not isinstance(lines, type):
        # the lines this evaluation judged by (a run may override the defaults): the alert says the same ones
        metadata[THRESHOLDS_METADATA] = dg.MetadataValue.json(
            {k: v for k, v in dataclasses.asdict(lines).items() if k != "sample_size"}
        )
    description = outcome.summary
    findings = outcome.client_findings() if per_client else {}
    if per_client:
        metadata[FINDINGS_METADATA] = dg.MetadataValue.json(findings_by_name(findings, names or {}))
        metadata["clients_with_findings_count"] = len(findings)
        rows = [
            (f.get("level", ""), (names or {}).get(client, "?"), client, _finding_text(f))
            for client, f in sorted(findings.items(), key=lambda kv: (-_rank(kv[1]), (names or {}).get(kv[0], "")))
        ]
        table = markdown_table(("level", "client", "id", "findings"), rows)
        metadata["client_findings"] = dg.MetadataValue.md(first_rows(table, UI_TABLE_ROWS, everyone))
    # a check that did not pass says where (the clients by name), what was found there and what to do, whatever
    # its scope: on-call reads this line in the UI and in the alert
    help_ = guidance(outcome.name, findings, names or {}, dagster_ui_url()) if outcome.level != Level.PASSED else None
    if help_ is not None:
        description = f"{description}. {help_.text()}"
        metadata["clients"] = dg.MetadataValue.text(help_.where)
        metadata["to_do"] = dg.MetadataValue.text(help_.todo)
        if help_.link:
            metadata["fix_in_dagster"] = dg.MetadataValue.url(help_.link)
    metadata.update(extra_metadata or {})
    return dg.AssetCheckResult(
        passed=outcome.level == Level.PASSED,
        severity=dg.AssetCheckSeverity.WARN if outcome.level == Level.WARN else dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )


def _rank(finding: dict[str, Any]) -> int:
    level = finding.get("level")
    return Level(level).rank if level in ("passed", "warn", "error") else 0


def _finding_text(finding: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in finding.items() if k != "level"
    )


def could_not_run(
    context: dg.AssetCheckExecutionContext,
    exc: BaseException,
    where: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dg.AssetCheckResult:
    """A check whose query could not run (database unreachable, statement timeout, missing table): a failed ERROR
    evaluation whose `error` metadata says why, never "passed", so the history and the alert sensor see it."""
    reason = error_line(exc)
    text = f"check could not run ({where}): {reason}" if where else f"check could not run: {reason}"
    context.log.error(text)
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=text,
        metadata={"error": reason, **({"scope": where} if where else {}), **(metadata or {})},
    )


def run_check(
    context: dg.AssetCheckExecutionContext,
    database: DatabaseResource,
    statement_timeout_ms: int,
    evaluate: Callable[[Connection, list[str] | None], CheckOutcome],
    *,
    partitioned: bool = True,
    client_id: str | None = None,
) -> dg.AssetCheckResult:
    """`partitioned`: the check is per client; False for whole-database checks.

    A per-client check always judges every active client, also when a run asks about one client (the check's
    `client_id` config, the run's client tags: the checks after a one-client run): Dagster shows a check's latest
    evaluation as its status (Checks tab, Catalog, the alert sensor), so an evaluation of one client would turn a
    check green for everyone while another client still fails. The client asked about is answered first in the
    description (`asked_client` metadata); its queries are set-based either way."""
    names: dict[str, str] = {}
    asked: list[str] | None = None
    try:
        asked = scope_of(context, client_id) if partitioned else None
        with database.connect() as conn, read_only_snapshot(conn, statement_timeout_ms):
            if asked is not None:
                asked = resolve_scope(conn, asked)  # an unknown or malformed client is bad input
            outcome = evaluate(conn, None)
            if partitioned:
                names = client_names(conn, [*(asked or []), *outcome.client_findings()])
    except (DatabaseUnavailableError, SQLAlchemyError) as exc:
        return could_not_run(context, exc, _scope_text(None, partitioned))
    except CampaignOpsError as exc:  # bad input: unknown client, malformed client id, contradictory config
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    where = _scope_text(None, partitioned, names)
    log = context.log.warning if outcome.level != Level.PASSED else context.log.info
    log(f"{outcome.name} ({where}): {outcome.level.value}: {outcome.summary}")
    result = outcome_to_check_result(outcome, per_client=partitioned, names=names)
    if not asked:
        return result
    answer = asked_client_line(asked[0], outcome.client_findings().get(asked[0]), names)
    context.log.info(answer)
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=result.severity,
        description=f"{answer}. All active clients: {result.description}",
        metadata={
            **result.metadata,
            ASKED_CLIENT_METADATA: dg.MetadataValue.text(_scope_text([asked[0]], True, names)),
        },
    )


ASKED_CLIENT_METADATA = "asked_client"


def asked_client_line(client: str, finding: Mapping[str, Any] | None, names: Mapping[str, str]) -> str:
    """What the evaluation found for the one client a run asked about."""
    who = _scope_text([client], True, names).removeprefix("client ")
    if not finding:
        return f"{who}: no findings"
    return f"{who}: {finding.get('level', 'finding')}: {_finding_text(dict(finding))}"
