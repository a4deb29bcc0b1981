"""What a failed check tells a person: which clients (by name), which campaigns, and what to do about it.

Shared by the asset checks (their description and metadata, what the UI shows) and the Slack alerts (which read
that metadata back), so both say the same thing. The remedy is a command a person can paste and the page in
the UI where the fixing job is launched for that client. Each check declares its remedy where it is defined
(`metadata=remedy(...)`); this module reads it from the definitions by the check's name.
"""

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from campaign_ops.clients.partition_keys import client_id_or_none, label, partition_key
from campaign_ops.ui_url import CODE_LOCATION, DEFINITIONS_MODULE

FINDINGS_METADATA = "clients_with_findings"
"""An evaluation over every client: each client with a finding, its figures and level (JSON, keyed by name)."""
FAILING_RUN_FINDING = "failing_de_enrollment_run"
"""A client's finding: the Dagster run of its newest de-enrollment pass, which failed ('' when run outside Dagster).
Its due leads wait and its counters are not settled: the de-enrollment is what to fix, not the counters."""
THRESHOLDS_METADATA = "thresholds"
"""The lines an evaluation judged by (JSON): the alert says the same ones."""
# at most this many clients named in a summary line; the metadata lists them all
NAMED_IN_SUMMARY = 5


@dataclass(frozen=True)
class Remedy:
    action: str
    command: str
    """a CLI line; `{name}` is the client's company name"""
    job: str | None
    """the job that repairs it, launched from its Partitions page (Materialize…)"""


REMEDY_METADATA = "campaign_ops/remedy"


def remedy(action: str, command: str, job: Any = None) -> dict[str, Any]:
    """A check's remedy, as metadata of its definition (`@dg.asset_check(metadata=remedy(...))`): what to do, the
    command to paste (`{name}`: the client's company name) and the job that repairs it (the job object)."""
    import dagster as dg

    return {REMEDY_METADATA: dg.MetadataValue.json({"action": action, "command": command, "job": job and job.name})}


@functools.cache
def remedy_of(check_name: str) -> Remedy | None:
    """The remedy the check named declares in the code location loaded in this process."""
    graph = importlib.import_module(DEFINITIONS_MODULE).defs.get_repository_def().asset_graph
    for key in graph.asset_check_keys:
        if key.name == check_name:
            declared = graph.get_check_spec(key).metadata.get(REMEDY_METADATA)
            if declared is not None:
                return Remedy(**declared.data)
    return None


def job_launch_url(ui_url: str, job: str, client_id: str | None = None, name: str | None = None) -> str:
    """The job's Partitions page; for one client, with its partition in the query string, which the page's
    Materialize… dialog opens with (the only one selected)."""
    page = f"{ui_url.rstrip('/')}/locations/{CODE_LOCATION}/jobs/{quote(job, safe='')}/partitions"
    canonical = client_id_or_none(client_id)
    return f"{page}?{urlencode({'partition': partition_key(canonical, name)}, quote_via=quote)}" if canonical else page


@dataclass(frozen=True)
class Guidance:
    where: str
    """the clients, by name: "Demo Client 003 (…uuid…), Acme (…) and 3 more" """
    detail: str
    """per client what was found, e.g. campaigns and differences"""
    todo: str
    """what to do, with the command(s) to paste"""
    link: str | None
    clients: list[str]

    def text(self) -> str:
        return f"Where: {self.where}. {self.detail + ' ' if self.detail else ''}To do: {self.todo}"


def _finding_detail(finding: Mapping[str, Any]) -> str:
    for listed in ("campaigns", "problems"):
        if finding.get(listed):
            return ", ".join(str(c) for c in finding[listed])
    figures = [f"{k.replace('_', ' ')} {v}" for k, v in finding.items() if type(v) is int and v and k != "level"]
    return ", ".join(figures)


def guidance(
    check_name: str, findings: Mapping[str, Mapping[str, Any]], names: Mapping[str, str], ui_url: str
) -> Guidance | None:
    """Who and what to do for a check's findings (client id → its figures), None when nothing was found."""
    if not findings:
        return None
    ordered = sorted(findings, key=lambda c: (names.get(c) or c).lower())
    shown = [label(c, names.get(c)) for c in ordered[:NAMED_IN_SUMMARY]]
    more = len(ordered) - len(shown)
    where = ", ".join(shown) + (f" and {more} more" if more else "")
    detail = "; ".join(
        f"{names.get(c) or c}: {d}" for c in ordered[:NAMED_IN_SUMMARY] if (d := _finding_detail(findings[c]))
    )
    fix = remedy_of(check_name)
    if fix is None:
        return Guidance(where, detail, "open the check in Dagster", None, [label(c, names.get(c)) for c in ordered])
    failing = [c for c in ordered if findings[c].get(FAILING_RUN_FINDING) is not None]
    rest = [c for c in ordered if c not in failing]
    todos: list[str] = []
    link: str | None = None
    if failing:
        runs = [
            f"{names.get(c) or c}: {run_link(ui_url, run) if run else 'outside Dagster'}"
            for c in failing[:NAMED_IN_SUMMARY]
            for run in [str(findings[c][FAILING_RUN_FINDING])]
        ]
        todos.append(
            "the client's de-enrollment is failing, so its due leads wait and its counters are not settled: open "
            f"the failed run ({'; '.join(runs)}), fix its cause; the next successful pass de-enrolls the due leads "
            "and settles the counters (reconciling first would not clear the check)"
        )
        first_run = str(findings[failing[0]][FAILING_RUN_FINDING])
        link = run_link(ui_url, first_run) if first_run else None
    if rest:
        commands = sorted({fix.command.format(name=names.get(c) or c) for c in rest[:NAMED_IN_SUMMARY]})
        # one client's partition when one client needs it; several: the job's page, which finds them by name
        one = rest[0] if len(rest) == 1 else None
        job_link = job_launch_url(ui_url, fix.job, one, names.get(one or "")) if fix.job else None
        todos.append(
            f"{fix.action}: {' ; '.join(commands)}"
            + (f", or launch {fix.job} for the client at {job_link}" if job_link else "")
        )
        link = link or job_link
    return Guidance(where, detail, "; and ".join(todos), link, [label(c, names.get(c)) for c in ordered])


def run_link(ui_url: str, run_id: str) -> str:
    return f"{ui_url.rstrip('/')}/runs/{quote(run_id, safe='')}"


def findings_by_name(findings: Mapping[str, Mapping[str, Any]], names: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each client's findings with its name and id in them, keyed "<name> (<uuid>)" (readable, still unique)."""
    return {
        label(c, names.get(c)): {"client": names.get(c), "client_id": c, **dict(f)}
        for c, f in sorted(findings.items(), key=lambda kv: (names.get(kv[0]) or kv[0]).lower())
    }
