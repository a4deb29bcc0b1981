"""What a finished run means for on-call people: RUN_FAILED for each client whose pass failed in a run of a
campaign-ops job, RUN_PARTIAL for each client it left partial (de_enrollment_runs); that client's own later
success ends them. A run that failed with no failed client pass (a bad configuration, a lost database) is one
RUN_FAILED about its scope, ended by a later success of the same job and scope.

Why per client: the due sensor launches a run every few seconds for the clients with due leads, and the sensor
applies a tick's events in order; keyed by the run's scope, the next run's success (which skipped the failing
client, or did not cover it) would end a failure before anyone heard of it.

Pure: a run's event (read from the event log by campaign_ops.alerts.events) and its clients' passes in, alerts
and resolutions out.

    alert type    key                               severity
    RUN_FAILED    run_failed:<job>:<client id>      ERROR
    RUN_PARTIAL   run_partial:<job>:<client id>     WARN
    RUN_FAILED    run_failed:<job>:<scope>          ERROR   (a failure no client pass explains)

`<scope>` is `all` for sweeps and unpartitioned jobs, the client id of a client partition (else the partition
key), or `range:<first>...<last>`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from campaign_ops.alerts.model import Alert, Resolution
from campaign_ops.alerts.rendering import format_utc_seconds
from campaign_ops.alerts.sources import ClientPassProblem, RunPasses
from campaign_ops.clients.partition_keys import SEPARATOR, client_id_or_none
from campaign_ops.clients.tags import ALL_CLIENTS, PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG, SWEEP_TAG
from campaign_ops.errors import mask_secrets

TypeKey = tuple[str, str]


@dataclass(frozen=True)
class RunScope:
    key: str
    """`all` for sweeps and unpartitioned jobs, the partition key, or `range:<first>...<last>`."""
    label: str
    client_id: str | None


@dataclass(frozen=True)
class RunEvent:
    """A run of a job that failed or succeeded."""

    run_id: str
    job_name: str
    tags: Mapping[str, str]
    failed: bool
    at: datetime
    error: str | None = None
    """The failure's innermost error message, masked (failed runs only)."""
    failed_clients: tuple[str, ...] = ()
    """The clients a sweep's failure names (`clients_failed`), by name."""
    clients: int | None = None
    """How many clients that sweep tried."""


def run_scope(tags: Mapping[str, str]) -> RunScope:
    partition = tags.get(PARTITION_TAG)
    if partition:
        client_id = client_id_or_none(partition)
        return RunScope(
            client_id or partition, f"client {partition}" if client_id else f"partition {partition}", client_id
        )
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end and tags.get(SWEEP_TAG) != ALL_CLIENTS and start != end:
        # the keys' names, not their uuids: a reader recognises "Demo Client 001 to Demo Client 999"
        return RunScope(f"range:{start}...{end}", f"clients {_readable(start)} to {_readable(end)}", None)
    if start and end and start == end:
        client_id = client_id_or_none(start)
        return RunScope(client_id or start, f"client {start}" if client_id else f"partition {start}", client_id)
    return RunScope("all", "all clients" if start else "whole job", None)


def _readable(key: str) -> str:
    """A clients partition key's name part (`<name>--<uuid>`); the key itself when it has none."""
    name, _, rest = key.rpartition(SEPARATOR)
    return name if name and client_id_or_none(key) == rest else key


def clients_fact(problems: Sequence[ClientPassProblem]) -> tuple[str, str]:
    shown = []
    for problem in problems[:5]:
        line = f"{client_label(problem)} ({problem.status})"
        if problem.error_details:
            line += f": {mask_secrets(problem.error_details)[:120]}"
        shown.append(line)
    more = f" … and {len(problems) - 5} more" if len(problems) > 5 else ""
    return ("Clients partial/failed", "; ".join(shown) + more)


def client_label(problem: ClientPassProblem) -> str:
    return problem.company_name or problem.client_id


def failed_key(job: str, scope_key: str) -> str:
    return f"run_failed:{job}:{scope_key}"


def partial_key(job: str, scope_key: str) -> str:
    return f"run_partial:{job}:{scope_key}"


def run_event_alerts(event: RunEvent, passes: RunPasses, ui_url: str) -> list[Alert | Resolution]:
    """What one run event raises or resolves, in the order to apply them (see `put`).

    A run that recorded client passes speaks for each client it processed: a failed pass raises RUN_FAILED keyed by
    that client, a partial one RUN_PARTIAL, and the client's own later success (or partial, for RUN_FAILED) ends
    them; a run that skipped a client or did not cover it says nothing about it. Only a failure that no client's
    pass explains (a bad configuration, a lost database) is one alert about the run's scope, and a later success of
    the same job and scope resolves it."""
    scope = run_scope(event.tags)
    job = event.job_name
    link = f"{ui_url}/runs/{event.run_id}"
    at = format_utc_seconds(event.at)
    note = f"run {event.run_id[:8]} of {job} succeeded at {at}"
    failed = [p for p in passes.problems if p.status == "failed"]
    partial = [p for p in passes.problems if p.status == "partial"]
    out: list[Alert | Resolution] = []
    for client in sorted(passes.succeeded):
        out.append(Resolution("RUN_FAILED", failed_key(job, client), note=note, link=link))
        out.append(Resolution("RUN_PARTIAL", partial_key(job, client), note=note, link=link))
    for problem in partial:
        out.append(
            Resolution(
                "RUN_FAILED",
                failed_key(job, problem.client_id),
                note=f"run {event.run_id[:8]} of {job} made progress for {client_label(problem)} at {at}",
                link=link,
            )
        )
    for problem in failed + partial:
        out.append(_client_alert(event, problem, link))
    label = scope.label
    if event.failed_clients and event.clients:  # a sweep's failure names its clients: so does the alert
        named = ", ".join(event.failed_clients[:3]) + (" …" if len(event.failed_clients) > 3 else "")
        label = f"{named}: {len(event.failed_clients)} of {event.clients} clients"
    facts = [("Job", job), ("Scope", label), ("Run", event.run_id), ("At", at)]
    if event.failed and not failed:
        if partial:
            facts.append(clients_fact(partial))
        out.append(
            Alert(
                alert_type="RUN_FAILED",
                key=failed_key(job, scope.key),
                severity="ERROR",
                title=f"{job} failed ({label})",
                summary=event.error or "run failed",
                client_id=scope.client_id,
                facts=tuple(facts),
                link=link,
                link_label="Open the run in Dagster",
                group=f"run_failed:{job}",
                group_title=f"{{n}} runs of {job} failed",
            )
        )
    elif not event.failed and scope.client_id not in passes.skipped:
        out.append(Resolution("RUN_FAILED", failed_key(job, scope.key), note=note, link=link))
        if scope.client_id is None:  # alerts about a whole run's partial clients, raised before they were per client
            out.append(Resolution("RUN_PARTIAL", partial_key(job, scope.key), note=note, link=link))
    return out


def _client_alert(event: RunEvent, problem: ClientPassProblem, link: str) -> Alert:
    """RUN_FAILED or RUN_PARTIAL about one client of a run, keyed by the client."""
    job = event.job_name
    name = client_label(problem)
    facts = (
        ("Job", job),
        ("Client", f"{name} ({problem.client_id})"),
        ("Run", event.run_id),
        ("At", format_utc_seconds(event.at)),
        ("Leads", f"{problem.leads_de_enrolled} de-enrolled of {problem.leads_evaluated} evaluated"),
    )
    details = mask_secrets(problem.error_details or "").strip()
    if problem.status == "failed":
        return Alert(
            alert_type="RUN_FAILED",
            key=failed_key(job, problem.client_id),
            severity="ERROR",
            title=f"{job} failed for {name}",
            summary=(details.splitlines()[0][:400] if details else event.error or "its pass failed"),
            client_id=problem.client_id,
            facts=facts,
            link=link,
            link_label="Open the run in Dagster",
            group=f"run_failed:{job}:clients",
            group_title=f"{job} failed for {{n}} clients",
        )
    return Alert(
        alert_type="RUN_PARTIAL",
        key=partial_key(job, problem.client_id),
        severity="WARN",
        title=f"{job} left {name} partial",
        summary="de_enrollment_runs records a pass it did not finish; the next run carries on with it"
        + (f": {details.splitlines()[0][:300]}" if details else "."),
        client_id=problem.client_id,
        facts=facts,
        link=link,
        link_label="Open the run in Dagster",
        group=f"run_partial:{job}",
        group_title=f"{job} left {{n}} clients partial",
    )


def put(firing: dict[TypeKey, Alert], resolutions: dict[TypeKey, Resolution], value: Alert | Resolution) -> None:
    """Events are applied in order: the latest state of each alert wins."""
    type_key = (value.alert_type, value.key)
    if isinstance(value, Alert):
        resolutions.pop(type_key, None)
        firing[type_key] = value
    else:
        firing.pop(type_key, None)
        resolutions[type_key] = value
