"""The alerts a check evaluation raises about the whole platform, not one client: the SOP's stuck-leads lines
(STUCK_LEADS, over every active client's count) and a broken schema contract (INVARIANT_VIOLATION).

Pure: an evaluation (campaign_ops.alerts.check_evaluation) in, alerts out; campaign_ops.alerts.check_alerts says
when they are raised and ended.
"""

from campaign_ops import thresholds as sop
from campaign_ops.alerts.check_evaluation import Evaluation, Names, lines_of, metadata_text, metadata_value
from campaign_ops.alerts.model import Alert
from campaign_ops.check_kit.remedies import FINDINGS_METADATA
from campaign_ops.errors import mask_secrets


def stuck_leads_alerts(evaluation: Evaluation, names: Names, ui_url: str) -> list[Alert]:
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
    if to_do := metadata_text(metadata.get("to_do")):
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
            facts=(*facts, ("Run", evaluation.run_text)),
            link=evaluation.link,
            link_label="Open the stuck_leads check in Dagster",
        )
    ]


def schema_contract_alerts(evaluation: Evaluation, names: Names, ui_url: str) -> list[Alert]:
    missing = int(metadata_value(evaluation.metadata, "objects_missing") or 0)
    return [
        Alert(
            alert_type="INVARIANT_VIOLATION",
            key="invariant:schema_contract",
            severity="HIGH",
            title=f"Schema contract broken: {missing} expected object(s) missing",
            summary=mask_secrets(evaluation.description or "")[:1000] + ". Run `campaign-ops db verify`; restore the "
            "objects with `campaign-ops db upgrade`.",
            facts=(("Missing objects", str(missing)), ("Run", evaluation.run_text)),
            link=evaluation.link,
            link_label="Open the schema_contract check in Dagster",
        )
    ]
