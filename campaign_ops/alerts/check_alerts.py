"""What an asset check's evaluation means for on-call people: the alerts it raises and the ones it ends.

Every condition has ONE detector, its asset check (history and plots in the UI; its lines in the check's config,
defaulting to campaign_ops.thresholds), and ONE path from its evaluation to a message, named with the alert types
on-call people know (the SOP's and the hardening report's):

    check                     finding                                  alert type           key
    stuck_leads               over every active client, above a line   STUCK_LEADS          stuck_leads:all
    de_enrollment_health      a client past the hours-since-success    NO_RECENT_SUCCESS    no_recent_success:<id>
    schema_contract           an expected object missing               INVARIANT_VIOLATION  invariant:schema_contract
    stuck_onboarding_clients  S5_CONFIRM_LIVE unpaid for over 2 h      PAYMENT_BLOCK        payment_block:<id>
                              HIGH in a terminal state                 STUCK_CLIENT         stuck_client:<id>
    any check                 any other finding about a client         CHECK_FAILED         check_failed:<check>:<id>
                              a failure naming no client, or the       CHECK_FAILED         check_failed:<check>:all
                              check could not run

An evaluation is the latest word about the clients it covered (one client, or every active client): each open
alert of its check's types about those clients that it does not raise again is resolved. Alerts about the whole
platform end only with an evaluation over every client; an evaluation that could not run ends nothing. One
client's stuck_leads evaluation (after that client's de-enrollment) raises nothing: STUCK_LEADS is the SOP's
platform count, which the evaluation over every client, every 5 minutes, says.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from campaign_ops import thresholds as sop
from campaign_ops.alerts.check_evaluation import (
    Evaluation,
    Names,
    check_facts,
    iso_text,
    lines_of,
    metadata_text,
    metadata_value,
    number_text,
)
from campaign_ops.alerts.check_platform_alerts import schema_contract_alerts, stuck_leads_alerts
from campaign_ops.alerts.model import Alert, ResolveScope
from campaign_ops.alerts.rendering import format_utc_seconds
from campaign_ops.check_kit.remedies import FINDINGS_METADATA, THRESHOLDS_METADATA, guidance
from campaign_ops.clients.partition_keys import client_id_or_none
from campaign_ops.errors import mask_secrets

# metadata the alert says in its own words, not as a figure
_WORDED = ("clients", "to_do", "fix_in_dagster", FINDINGS_METADATA, THRESHOLDS_METADATA)


@dataclass(frozen=True)
class Cover:
    """Open alerts of `alert_type` under `key_prefix` (only `keys`, when given) that this evaluation judged."""

    alert_type: str
    key_prefix: str
    keys: frozenset[str] | None
    note: str

    def holds(self, alert_type: str, key: str) -> bool:
        return (
            alert_type == self.alert_type
            and key.startswith(self.key_prefix)
            and (self.keys is None or key in self.keys)
        )


@dataclass(frozen=True)
class CheckAlerts:
    firing: list[Alert]
    covers: list[Cover]


ClientAlert = Callable[[Evaluation, str, dict[str, Any], Names, str], Alert]


@dataclass(frozen=True)
class _Kind:
    """An alert type a check's evaluation raises, and its keys."""

    alert_type: str
    prefix: str
    platform: bool
    """One alert about the whole platform (ended only by an evaluation over every client)."""


def check_failed_prefix(check: str) -> str:
    return f"check_failed:{check}:"


def check_alerts(evaluation: Evaluation, names: Names, ui_url: str) -> CheckAlerts:
    """The alerts an evaluation raises and the open alerts it judged (to be resolved unless raised again)."""
    if evaluation.could_not_run:  # says nothing about the data: ends nothing, raises "could not run"
        return CheckAlerts([_check_failed(evaluation, evaluation.where_key, names)], [])
    kinds = (*_KINDS.get(evaluation.check, ()), _Kind("CHECK_FAILED", check_failed_prefix(evaluation.check), False))
    note = f"{evaluation.check} on {evaluation.asset} " + (
        f"passed at {format_utc_seconds(evaluation.at)}"
        if evaluation.passed
        else f"no longer found it at {format_utc_seconds(evaluation.at)}"
    )
    covers = []
    for kind in kinds:
        if evaluation.covered is None:
            covers.append(Cover(kind.alert_type, kind.prefix, None, note))
        elif not kind.platform:
            covers.append(
                Cover(kind.alert_type, kind.prefix, frozenset(kind.prefix + c for c in evaluation.covered), note)
            )
    if evaluation.passed:
        return CheckAlerts([], covers)
    platform = _PLATFORM.get(evaluation.check)
    if platform is not None:
        return CheckAlerts(platform(evaluation, names, ui_url) if evaluation.covered is None else [], covers)
    failing = _failing_clients(evaluation)
    if failing is None:  # a failure naming no client: about the evaluation's whole scope
        return CheckAlerts([_check_failed(evaluation, evaluation.where_key, names)], covers)
    per_client = _PER_CLIENT.get(evaluation.check, _client_check_failed)
    return CheckAlerts([per_client(evaluation, c, f, names, ui_url) for c, f in failing], covers)


# --- per client -------------------------------------------------------------------------------------------------


def _failing_clients(evaluation: Evaluation) -> list[tuple[str, dict[str, Any]]] | None:
    """The clients a failed evaluation found something wrong with, each with its finding; None when it names none
    (a failure over a range of partitions, or a check that publishes no per-client findings)."""
    if evaluation.covered is not None:
        # one client's evaluation is that client's finding; a range's failure is the range's
        return [(evaluation.where_key, {})] if len(evaluation.covered) == 1 else None
    findings = metadata_value(evaluation.metadata, FINDINGS_METADATA)
    if not isinstance(findings, dict):
        return None
    failing = []
    for finding in findings.values():
        if not isinstance(finding, dict):
            continue
        client = finding.get("client_id") or finding.get("clientId")
        # a finding with a level below "warn" is a figure, not a problem (one stuck lead); one without is a problem
        if client and finding.get("level", "warn") in ("warn", "error"):
            failing.append((str(client), finding))
    return sorted(failing) or None


def _where(client: str, names: Names, finding: Mapping[str, Any]) -> str:
    name = names.get(client) or finding.get("client") or finding.get("companyName")
    if client_id_or_none(client) is None:
        return f"partition {client}"
    return f"{name} ({client})" if name else f"unknown client ({client})"


def _client_check_failed(
    evaluation: Evaluation, client: str, finding: dict[str, Any], names: Names, ui_url: str
) -> Alert:
    """CHECK_FAILED about one client: its own finding (figures, what to do) when the evaluation covered every
    client, the evaluation itself when it covered that client only."""
    if not finding:
        return _check_failed(evaluation, client, names)
    help_ = guidance(evaluation.check, {client: finding}, names, ui_url)
    figures = [
        (k, number_text(v)) for k, v in finding.items() if type(v) in (int, float) and k not in ("level", "client_id")
    ]
    severity = {"warn": "WARN", "error": "ERROR"}.get(str(finding.get("level")), _severity(evaluation))
    extra = [("To do", help_.todo)] if help_ else []
    if help_ and help_.link:
        extra.append(("Fix in Dagster", help_.link))
    summary = (help_.detail if help_ and help_.detail else None) or evaluation.description or ""
    return _check_failed(
        evaluation, client, names, finding=finding, severity=severity, summary=summary, facts=figures[:6] + extra
    )


def _check_failed(
    evaluation: Evaluation,
    key: str,
    names: Names,
    *,
    finding: Mapping[str, Any] | None = None,
    severity: str | None = None,
    summary: str | None = None,
    facts: Sequence[tuple[str, str]] | None = None,
) -> Alert:
    """The CHECK_FAILED alert: about one client (`key` its id or partition) or the evaluation's scope (`all`)."""
    metadata = evaluation.metadata
    client_id = client_id_or_none(key) if key != "all" else None
    if key != "all":
        where = _where(key, names, finding or {})
    else:
        covered = evaluation.covered
        named = metadata_text(metadata.get("clients"))
        scope = metadata_text(metadata.get("scope"))
        where = named or (f"a range of {len(covered)} clients" if covered else scope or "all clients")
    if facts is None:
        facts = check_facts({k: v for k, v in metadata.items() if k not in _WORDED})
        if to_do := metadata_text(metadata.get("to_do")):
            facts.append(("To do", to_do))
        if fix := metadata_text(metadata.get("fix_in_dagster")):
            facts.append(("Fix in Dagster", fix))
    text = summary or evaluation.description
    text = (
        text
        or f"Asset check {evaluation.check} on {evaluation.asset} did not pass at {format_utc_seconds(evaluation.at)}."
    )
    if evaluation.could_not_run:
        title = f"Check {evaluation.check} could not run ({where})"
    else:
        title = f"Check {evaluation.check} failed ({where})"
    return Alert(
        alert_type="CHECK_FAILED",
        key=check_failed_prefix(evaluation.check) + key,
        severity=severity or _severity(evaluation),
        title=title,
        summary=mask_secrets(text)[:1000],
        client_id=client_id,
        facts=(
            ("Check", f"{evaluation.asset} · {evaluation.check}"),
            ("Where", where),
            *facts,
            ("Run", evaluation.run_text),
        ),
        link=evaluation.link,
        link_label="Open the check in Dagster",
        group=f"check_failed:{evaluation.check}" if client_id else None,
        group_title=f"Check {evaluation.check} failed for {{n}} clients",
    )


def _no_recent_success_or_warning(
    evaluation: Evaluation, client: str, finding: dict[str, Any], names: Names, ui_url: str
) -> Alert:
    """de_enrollment_health about one client: past the hours-since-success line (its one ERROR) is the SOP's
    "no runs in 2 hours", NO_RECENT_SUCCESS; its WARN lines (success rate, failed runs, duration) a CHECK_FAILED."""
    if not finding:  # one client's own evaluation: its figures are the client's
        figures = {k: metadata_value(evaluation.metadata, k) for k in ("runs_24h", "failed_runs_24h")}
        finding = {
            "level": "error" if evaluation.severity == "ERROR" else "warn",
            "hours_since_success": metadata_value(evaluation.metadata, "max_hours_since_success"),
            "total_runs_24h": figures["runs_24h"],
            "failed_runs_24h": figures["failed_runs_24h"],
            "partial_runs_24h": metadata_value(evaluation.metadata, "partial_runs_24h"),
        }
        if finding["level"] != "error":
            return _check_failed(evaluation, client, names)
    if finding.get("level") != "error":
        return _client_check_failed(evaluation, client, finding, names, ui_url)
    limit = float(lines_of(evaluation).get("hours_since_success_error_above", sop.HOURS_SINCE_SUCCESS_ERROR_ABOVE))
    hours = float(finding.get("hours_since_success") or 0.0)
    name = names.get(client) or finding.get("client") or client
    last_success = finding.get("last_success_at")
    last_run = finding.get("last_run_at")
    runs = (
        f"{finding.get('total_runs_24h', '?')} ({finding.get('failed_runs_24h', '?')} failed, "
        f"{finding.get('partial_runs_24h', '?')} partial)"
    )
    problems = [str(p) for p in finding.get("problems") or ()]
    facts = [
        ("Client", f"{name} ({client})"),
        ("Hours since success", f"{hours:g} (limit {limit:g})"),
        ("Runs in 24 h", runs),
        ("Last run", iso_text(last_run) if last_run else "never"),
    ]
    if len(problems) > 1:
        facts.append(("Also", "; ".join(problems[1:])))
    query = urlencode({"view": "partitions", "partition": client})
    return Alert(
        alert_type="NO_RECENT_SUCCESS",
        key=f"no_recent_success:{client}",
        severity="ERROR",
        title=f"No successful de-enrollment for {name} in {hours:g} h",
        summary=f"Last success: {iso_text(last_success) if last_success else 'never'}. SOP: check the schedule "
        "and the last runs' errors now.",
        client_id=client_id_or_none(client),
        client_name=str(name),
        facts=(*facts, ("Run", evaluation.run_text)),
        link=f"{ui_url}/assets/de_enrollment_runs?{query}",
        link_label="Open the client's de-enrollment runs",
        group="no_recent_success",
        group_title=f"{{n}} clients without a successful de-enrollment in {limit:g} h",
    )


def _stuck_onboarding_client(
    evaluation: Evaluation, client: str, finding: dict[str, Any], names: Names, ui_url: str
) -> Alert:
    """Seed 004: unpaid at S5_CONFIRM_LIVE for over 2 h is PAYMENT_BLOCK, HIGH in a terminal state STUCK_CLIENT;
    any other stuck client is the check's own finding, at the client's severity (LOW, MEDIUM, HIGH)."""
    if not finding:
        return _check_failed(evaluation, client, names)
    name = names.get(client) or finding.get("companyName") or client
    state = str(finding.get("state"))
    minutes = float(finding.get("minutesInState") or 0.0)
    threshold = finding.get("thresholdMinutes")
    severity = str(finding.get("severity") or "HIGH")
    where = (
        ("Client", f"{name} ({client})"),
        ("State", state),
        ("In state", f"{minutes / 60:.1f} h (threshold {threshold} min)"),
    )
    link = f"{ui_url}/assets/onboarding_states?{urlencode({'view': 'checks'})}"
    client_id = client_id_or_none(client)
    if state == "S5_CONFIRM_LIVE" and not finding.get("paymentActive") and minutes > sop.PAYMENT_BLOCK_HOURS * 60:
        return Alert(
            alert_type="PAYMENT_BLOCK",
            key=f"payment_block:{client}",
            severity="HIGH",
            title=f"{name} blocked at S5_CONFIRM_LIVE without payment",
            summary="Check the payment provider; once paid, set clients.payment_active and the client can reply READY.",
            client_id=client_id,
            client_name=str(name),
            facts=where,
            link=link,
            group="payment_block",
            group_title="{n} clients blocked at S5_CONFIRM_LIVE without payment",
        )
    if severity == "HIGH" and finding.get("isTerminal"):
        return Alert(
            alert_type="STUCK_CLIENT",
            key=f"stuck_client:{client}",
            severity="HIGH",
            title=f"{name} stuck in {state} (needs a person)",
            summary="A terminal onboarding state: the client will not move on without help. Call them.",
            client_id=client_id,
            client_name=str(name),
            facts=where,
            link=link,
            group="stuck_client",
            group_title="{n} clients stuck in onboarding (terminal states)",
        )
    summary = f"{name} has been in {state} for {minutes / 60:.1f} h, past its {threshold} min threshold ({severity})."
    return _check_failed(evaluation, client, names, finding=finding, severity=severity, summary=summary, facts=where)


_KINDS: dict[str, tuple[_Kind, ...]] = {
    "stuck_leads": (_Kind("STUCK_LEADS", "stuck_leads:", True),),
    "schema_contract": (_Kind("INVARIANT_VIOLATION", "invariant:schema_contract", True),),
    "de_enrollment_health": (_Kind("NO_RECENT_SUCCESS", "no_recent_success:", False),),
    "stuck_onboarding_clients": (
        _Kind("PAYMENT_BLOCK", "payment_block:", False),
        _Kind("STUCK_CLIENT", "stuck_client:", False),
    ),
}
"""The alert types a check raises besides CHECK_FAILED (which every check may raise)."""
_PLATFORM: dict[str, Callable[[Evaluation, Names, str], list[Alert]]] = {
    "stuck_leads": stuck_leads_alerts,
    "schema_contract": schema_contract_alerts,
}
_PER_CLIENT: dict[str, ClientAlert] = {
    "de_enrollment_health": _no_recent_success_or_warning,
    "stuck_onboarding_clients": _stuck_onboarding_client,
}


def _severity(evaluation: Evaluation) -> str:
    return "WARN" if evaluation.severity == "WARN" else "ERROR"


# --- a tick's evaluations -----------------------------------------------------------------------------------------


def evaluations_alerts(
    evaluations: Sequence[tuple[int, Evaluation]], names: Names, ui_url: str, log_error: Callable[[str], Any]
) -> tuple[list[Alert], list[ResolveScope]]:
    """The alerts firing after a tick's evaluations (by storage id, in event order) and the open alerts they
    judged: the latest evaluation of each client decides, and what it covered and did not raise is over. An
    evaluation that cannot be read is logged through `log_error` and skipped."""
    firing: dict[tuple[str, str], Alert] = {}
    covers: dict[tuple[str, str], Cover] = {}
    for storage_id, read in evaluations:
        try:
            result = check_alerts(read, names, ui_url)
        except Exception as exc:  # one bad record must not stop the tick
            log_error(f"check evaluation event {storage_id} skipped: {mask_secrets(repr(exc))}")
            continue
        for cover in result.covers:
            for type_key in [k for k in firing if cover.holds(*k)]:
                firing.pop(type_key)
            covers[(cover.alert_type, cover.key_prefix)] = _widen(
                covers.get((cover.alert_type, cover.key_prefix)), cover
            )
        for alert in result.firing:
            firing[(alert.alert_type, alert.key)] = alert
    scopes = [
        ResolveScope(c.alert_type, c.key_prefix, note=c.note, keys=None if c.keys is None else tuple(sorted(c.keys)))
        for c in covers.values()
    ]
    return list(firing.values()), scopes


def _widen(earlier: Cover | None, cover: Cover) -> Cover:
    """Evaluations of one check in one tick: together they judged the union of what each covered."""
    if earlier is None:
        return cover
    keys = None if earlier.keys is None or cover.keys is None else earlier.keys | cover.keys
    return Cover(cover.alert_type, cover.key_prefix, keys, cover.note)
