"""What an asset check's evaluation means for on-call people: the alerts it raises and the ones it ends.

Every condition has ONE detector, its asset check (history and plots in the UI; its lines in the check's config,
defaulting to campaign_ops.thresholds), and ONE path from its evaluation to a message, named with the alert types
on-call people know (the SOP's and seed 004's):

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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import dagster as dg

from campaign_ops import thresholds as sop
from campaign_ops.alerts.core import Alert, mask_secrets
from campaign_ops.check_kit.remedies import FINDINGS_METADATA, THRESHOLDS_METADATA, guidance
from campaign_ops.clients.partition_keys import client_id_or_none

_NUMERIC_METADATA = (dg.IntMetadataValue, dg.FloatMetadataValue, dg.BoolMetadataValue)
# metadata the alert says in its own words, not as a figure
_WORDED = ("clients", "to_do", "fix_in_dagster", FINDINGS_METADATA, THRESHOLDS_METADATA)


@dataclass(frozen=True)
class Evaluation:
    """One asset check evaluation, as the alert sensor read it from the event log."""

    check: str
    asset: str
    passed: bool
    severity: str
    """WARN or ERROR (the check's severity when it did not pass)."""
    description: str | None
    metadata: Mapping[str, Any]
    """Dagster metadata values, by name."""
    covered: frozenset[str] | None
    """The clients it judged (client ids; partition keys that name no client); None: every active client."""
    where_key: str
    """The key of an alert about the evaluation as a whole: `all`, or its one client (or partition)."""
    run_id: str
    at: datetime
    link: str
    """The check in the UI."""

    @property
    def could_not_run(self) -> bool:
        return not self.passed and "error" in self.metadata


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


Names = Mapping[str, str]
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
        f"passed at {_fmt(evaluation.at)}" if evaluation.passed else f"no longer found it at {_fmt(evaluation.at)}"
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
        (k, _number_text(v)) for k, v in finding.items() if type(v) in (int, float) and k not in ("level", "client_id")
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
        named = _text(metadata.get("clients"))
        scope = _text(metadata.get("scope"))
        where = named or (f"a range of {len(covered)} clients" if covered else scope or "all clients")
    if facts is None:
        facts = check_facts({k: v for k, v in metadata.items() if k not in _WORDED})
        if to_do := _text(metadata.get("to_do")):
            facts.append(("To do", to_do))
        if fix := _text(metadata.get("fix_in_dagster")):
            facts.append(("Fix in Dagster", fix))
    text = summary or evaluation.description
    text = text or f"Asset check {evaluation.check} on {evaluation.asset} did not pass at {_fmt(evaluation.at)}."
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
            ("Run", evaluation.run_id),
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
        ("Last run", _iso_text(last_run) if last_run else "never"),
    ]
    if len(problems) > 1:
        facts.append(("Also", "; ".join(problems[1:])))
    query = urlencode({"view": "partitions", "partition": client})
    return Alert(
        alert_type="NO_RECENT_SUCCESS",
        key=f"no_recent_success:{client}",
        severity="ERROR",
        title=f"No successful de-enrollment for {name} in {hours:g} h",
        summary=f"Last success: {_iso_text(last_success) if last_success else 'never'}. SOP: check the schedule "
        "and the last runs' errors now.",
        client_id=client_id_or_none(client),
        facts=(*facts, ("Run", evaluation.run_id)),
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
            facts=where,
            link=link,
            group="stuck_client",
            group_title="{n} clients stuck in onboarding (terminal states)",
        )
    summary = f"{name} has been in {state} for {minutes / 60:.1f} h, past its {threshold} min threshold ({severity})."
    return _check_failed(evaluation, client, names, finding=finding, severity=severity, summary=summary, facts=where)


# --- about the whole platform -----------------------------------------------------------------------------------


def _stuck_leads(evaluation: Evaluation, names: Names, ui_url: str) -> list[Alert]:
    """The SOP's stuck-leads lines are about the platform's count: one STUCK_LEADS, WARN above 100, ERROR above
    500 (or the lines the evaluation used); the clients with the most stuck leads are named."""
    metadata = evaluation.metadata
    lines = lines_of(evaluation)
    warn_line = int(lines.get("warn_above", sop.STUCK_LEADS_WARN_ABOVE))
    error_line = int(lines.get("error_above", sop.STUCK_LEADS_ERROR_ABOVE))
    total = int(metadata_value(metadata, "stuck_leads") or 0)
    error = evaluation.severity == "ERROR"
    findings = metadata_value(metadata, FINDINGS_METADATA)
    by_client = sorted(
        (
            (
                int(f.get("stuck_leads") or 0),
                names.get(str(f.get("client_id"))) or f.get("client") or f.get("client_id"),
            )
            for f in (findings.values() if isinstance(findings, dict) else ())
            if isinstance(f, dict)
        ),
        key=lambda nc: (-nc[0], str(nc[1])),
    )
    facts = [
        ("Stuck leads", f"{total:,}"),
        ("Clients affected", f"{len(by_client):,}"),
    ]
    if by_client:
        top = "; ".join(f"{name}: {n:,}" for n, name in by_client[:5])
        facts.append(("Most", top + (" …" if len(by_client) > 5 else "")))
    if to_do := _text(metadata.get("to_do")):
        facts.append(("To do", to_do))
    respond = (
        "SOP (within 15 min): run a manual de-enrollment, investigate the root cause."
        if error
        else f"SOP: de-enroll the clients' finished leads; above {error_line:,} it is an ERROR (within 15 min)."
    )
    return [
        Alert(
            alert_type="STUCK_LEADS",
            key="stuck_leads:all",
            severity="ERROR" if error else "WARN",
            title=f"{total:,} stuck leads ({'ERROR' if error else 'WARN'} line {error_line if error else warn_line:,})",
            summary=f"Leads active, not completed, at or past the end of their sequence. {respond}",
            facts=(*facts, ("Run", evaluation.run_id)),
            link=evaluation.link,
            link_label="Open the stuck_leads check in Dagster",
        )
    ]


def _schema_contract(evaluation: Evaluation, names: Names, ui_url: str) -> list[Alert]:
    missing = int(metadata_value(evaluation.metadata, "objects_missing") or 0)
    return [
        Alert(
            alert_type="INVARIANT_VIOLATION",
            key="invariant:schema_contract",
            severity="HIGH",
            title=f"Schema contract broken: {missing} expected object(s) missing",
            summary=mask_secrets(evaluation.description or "")[:1000] + ". Run `campaign-ops db verify`; restore the "
            "objects with `campaign-ops db upgrade`.",
            facts=(("Missing objects", str(missing)), ("Run", evaluation.run_id)),
            link=evaluation.link,
            link_label="Open the schema_contract check in Dagster",
        )
    ]


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
    "stuck_leads": _stuck_leads,
    "schema_contract": _schema_contract,
}
_PER_CLIENT: dict[str, ClientAlert] = {
    "de_enrollment_health": _no_recent_success_or_warning,
    "stuck_onboarding_clients": _stuck_onboarding_client,
}


# --- metadata -----------------------------------------------------------------------------------------------------


def metadata_value(metadata: Mapping[str, Any], name: str) -> Any:
    value = metadata.get(name)
    return getattr(value, "value", value)


def lines_of(evaluation: Evaluation) -> dict[str, Any]:
    """The thresholds the evaluation judged by, as it published them (empty when it did not)."""
    lines = metadata_value(evaluation.metadata, THRESHOLDS_METADATA)
    return lines if isinstance(lines, dict) else {}


def check_facts(metadata: Mapping[str, Any], limit: int = 6) -> list[tuple[str, str]]:
    """The figures of a check evaluation's metadata: numbers first, then short texts (tables are left to the UI)."""
    numbers = [(k, v) for k, v in metadata.items() if isinstance(v, _NUMERIC_METADATA)]
    texts = [(k, v) for k, v in metadata.items() if isinstance(v, dg.TextMetadataValue) and len(v.value or "") <= 200]
    return [(key, _number_text(value.value)) for key, value in (numbers + texts)[:limit]]


def _number_text(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return str(raw)
    return f"{raw:,.2f}" if isinstance(raw, float) else f"{raw:,}"


def _text(value: Any) -> str | None:
    """The text of a metadata value (text or URL), None when absent."""
    raw = getattr(value, "value", None) if value is not None else None
    return str(raw) if raw else None


def _severity(evaluation: Evaluation) -> str:
    return "WARN" if evaluation.severity == "WARN" else "ERROR"


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso_text(value: Any) -> str:
    try:
        return _fmt(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def clients_of(evaluations: Iterable[Evaluation]) -> list[str]:
    """Every client id the evaluations name (their scope, their findings): their names are looked up at once."""
    found: set[str] = set()
    for evaluation in evaluations:
        found.update(c for c in evaluation.covered or () if client_id_or_none(c))
        findings = metadata_value(evaluation.metadata, FINDINGS_METADATA)
        if isinstance(findings, dict):
            for finding in findings.values():
                if isinstance(finding, dict) and (c := client_id_or_none(str(finding.get("client_id") or ""))):
                    found.add(c)
    return sorted(found)
