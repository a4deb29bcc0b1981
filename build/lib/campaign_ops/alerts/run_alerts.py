"""What a finished run means for on-call people: RUN_FAILED for a failed run of a campaign-ops job, RUN_PARTIAL
for a successful one that left clients partial or failed in de_enrollment_runs; a later success of the same job
and scope resolves both.

Pure: a run's event (read from the event log by campaign_ops.alerts.events) and its clients' problems in, alerts
and resolutions out.

    alert type    key                          severity
    RUN_FAILED    run_failed:<job>:<scope>     ERROR
    RUN_PARTIAL   run_partial:<job>:<scope>    WARN

`<scope>` is `all` for sweeps and unpartitioned jobs, the partition key, or `range:<first>...<last>`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from campaign_ops.alerts.model import Alert, Resolution
from campaign_ops.alerts.rendering import format_utc_seconds
from campaign_ops.alerts.sources import ClientPassProblem
from campaign_ops.clients.partition_keys import client_id_or_none
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


def run_scope(tags: Mapping[str, str]) -> RunScope:
    partition = tags.get(PARTITION_TAG)
    if partition:
        client_id = client_id_or_none(partition)
        return RunScope(partition, f"client {partition}" if client_id else f"partition {partition}", client_id)
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end and tags.get(SWEEP_TAG) != ALL_CLIENTS and start != end:
        return RunScope(f"range:{start}...{end}", f"partitions {start}…{end}", None)
    if start and end and start == end:
        client_id = client_id_or_none(start)
        return RunScope(start, f"client {start}" if client_id else f"partition {start}", client_id)
    return RunScope("all", "all clients" if start else "whole job", None)


def clients_fact(problems: Sequence[ClientPassProblem]) -> tuple[str, str]:
    shown = []
    for problem in problems[:5]:
        line = f"{problem.company_name or problem.client_id} ({problem.status})"
        if problem.error_details:
            line += f": {mask_secrets(problem.error_details)[:120]}"
        shown.append(line)
    more = f" … and {len(problems) - 5} more" if len(problems) > 5 else ""
    return ("Clients partial/failed", "; ".join(shown) + more)


def run_event_alerts(event: RunEvent, problems: Sequence[ClientPassProblem], ui_url: str) -> list[Alert | Resolution]:
    """What one run event raises or resolves, in the order to apply them (see `put`)."""
    scope = run_scope(event.tags)
    job = event.job_name
    link = f"{ui_url}/runs/{event.run_id}"
    failed_key = ("RUN_FAILED", f"run_failed:{job}:{scope.key}")
    partial_key = ("RUN_PARTIAL", f"run_partial:{job}:{scope.key}")
    facts = [("Job", job), ("Scope", scope.label), ("Run", event.run_id), ("At", format_utc_seconds(event.at))]
    if event.failed:
        if problems:
            facts.append(clients_fact(problems))
        return [
            Alert(
                alert_type="RUN_FAILED",
                key=failed_key[1],
                severity="ERROR",
                title=f"{job} failed ({scope.label})",
                summary=event.error or "run failed",
                client_id=scope.client_id,
                facts=tuple(facts),
                link=link,
                link_label="Open the run in Dagster",
                group=f"run_failed:{job}",
                group_title=f"{{n}} runs of {job} failed",
            )
        ]
    note = f"run {event.run_id[:8]} of {job} succeeded at {format_utc_seconds(event.at)}"
    out: list[Alert | Resolution] = [Resolution(*failed_key, note=note, link=link)]
    if problems:
        facts.append(clients_fact(problems))
        out.append(
            Alert(
                alert_type="RUN_PARTIAL",
                key=partial_key[1],
                severity="WARN",
                title=f"{job} finished with {len(problems)} client(s) partial or failed",
                summary="The run succeeded, but de_enrollment_runs records clients it did not finish; "
                "the next run carries on with them.",
                client_id=scope.client_id,
                facts=tuple(facts),
                link=link,
                link_label="Open the run in Dagster",
                group=f"run_partial:{job}",
                group_title=f"{{n}} runs of {job} left clients partial or failed",
            )
        )
    else:
        out.append(Resolution(*partial_key, note=note, link=link))
    return out


def put(firing: dict[TypeKey, Alert], resolutions: dict[TypeKey, Resolution], value: Alert | Resolution) -> None:
    """Events are applied in order: the latest state of each alert wins."""
    type_key = (value.alert_type, value.key)
    if isinstance(value, Alert):
        resolutions.pop(type_key, None)
        firing[type_key] = value
    else:
        firing.pop(type_key, None)
        resolutions[type_key] = value
