"""The mapping from a check evaluation to alerts, at its edges (the sensor tests drive it with real runs)."""

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from campaign_ops import thresholds as sop
from campaign_ops.alerts.check_alerts import check_alerts
from campaign_ops.alerts.check_evaluation import Evaluation

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
A = "0b5f4a1e-3c1d-4b7e-9a52-1f2e3d4c5b6a"
B = "1c6a5b2f-4d2e-4c8f-8b63-2a3f4e5d6c7b"


def onboarding(client: str, state: str, minutes: float, *, paid: bool, severity: str, terminal: bool) -> dict[str, Any]:
    return {
        "client": None,
        "client_id": client,
        "clientId": client,
        "companyName": f"Clinic {client[:4]}",
        "state": state,
        "minutesInState": minutes,
        "thresholdMinutes": 60,
        "severity": severity,
        "isTerminal": terminal,
        "paymentActive": paid,
    }


def evaluation(
    check: str, *, passed: bool = False, covered: frozenset[str] | None = None, **metadata: Any
) -> Evaluation:
    return Evaluation(
        check=check,
        asset="onboarding_states",
        passed=passed,
        severity="ERROR",
        description="found",
        metadata={"scope": dg.MetadataValue.text("all active clients"), **metadata},
        covered=covered,
        where_key="all" if covered is None else next(iter(covered)),
        run_id="run-1",
        at=AT,
        link="http://ui/check",
    )


def test_payment_block_is_unpaid_at_s5_for_over_two_hours_else_the_clients_stuck_state() -> None:
    line = sop.PAYMENT_BLOCK_HOURS * 60
    findings = {
        "a": onboarding(A, "S5_CONFIRM_LIVE", line, paid=False, severity="HIGH", terminal=True),  # on the line
        "b": onboarding(B, "S5_CONFIRM_LIVE", line + 1, paid=False, severity="HIGH", terminal=True),
    }
    result = check_alerts(
        evaluation("stuck_onboarding_clients", clients_with_findings=dg.MetadataValue.json(findings)), {}, "http://ui"
    )
    assert sorted((a.alert_type, a.key, a.severity) for a in result.firing) == [
        ("PAYMENT_BLOCK", f"payment_block:{B}", "HIGH"),
        ("STUCK_CLIENT", f"stuck_client:{A}", "HIGH"),  # on the line: stuck in a terminal state, not yet blocked
    ]


def test_other_stuck_onboarding_clients_are_the_checks_finding_at_their_own_severity() -> None:
    findings = {"a": onboarding(A, "S2_DETAILS", 150, paid=True, severity="MEDIUM", terminal=False)}
    result = check_alerts(
        evaluation("stuck_onboarding_clients", clients_with_findings=dg.MetadataValue.json(findings)), {}, "http://ui"
    )
    ((alert),) = result.firing
    assert (alert.alert_type, alert.key, alert.severity) == (
        "CHECK_FAILED",
        f"check_failed:stuck_onboarding_clients:{A}",
        "MEDIUM",
    )
    assert alert.group == "check_failed:stuck_onboarding_clients"


def test_what_an_evaluation_ends_follows_what_it_covered() -> None:
    over_all = check_alerts(evaluation("stuck_leads", passed=True), {}, "http://ui")
    assert {(c.alert_type, c.key_prefix, c.keys) for c in over_all.covers} == {
        ("STUCK_LEADS", "stuck_leads:", None),
        ("CHECK_FAILED", "check_failed:stuck_leads:", None),
    }
    # one client's count is part of the platform's: it neither raises nor ends STUCK_LEADS
    one = check_alerts(
        evaluation("stuck_leads", covered=frozenset([A]), stuck_leads=dg.MetadataValue.int(900)), {}, "http://ui"
    )
    assert one.firing == []
    assert [(c.alert_type, c.keys) for c in one.covers] == [
        ("CHECK_FAILED", frozenset([f"check_failed:stuck_leads:{A}"]))
    ]
    # a check that could not run says nothing about the data: it ends nothing
    broken = check_alerts(evaluation("stuck_leads", error=dg.MetadataValue.text("timeout")), {}, "http://ui")
    assert broken.covers == [] and [a.title for a in broken.firing] == [
        "Check stuck_leads could not run (all active clients)"
    ]
