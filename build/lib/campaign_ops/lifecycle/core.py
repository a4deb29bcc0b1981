"""Lifecycle (email round) campaign integrity (the implementation review):
was a round sent early, out of order or twice?"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.check_kit.outcome import CheckOutcome, Level
from campaign_ops.errors import CampaignOpsError
from campaign_ops.sqlfiles import load_sql

VIOLATION_KINDS = ("sent_early", "sent_before_previous_round", "sent_twice", "rescheduled_after_send")


@dataclass(frozen=True)
class RoundViolation:
    campaign_name: str
    round_number: int
    kind: str
    scheduled_at: datetime
    sent_at: datetime | None
    detail: str


@dataclass(frozen=True)
class RoundIntegrityResult(CheckOutcome):
    name: str = "lifecycle_round_integrity"
    violations: list[RoundViolation] = field(default_factory=list)

    @property
    def level(self) -> Level:
        return Level.ERROR if self.violations else Level.PASSED

    @property
    def summary(self) -> str:
        if not self.violations:
            return "every lifecycle round was sent on time, in order and once"
        first = self.violations[0]
        return (
            f"{len(self.violations)} round integrity violation(s); first: {first.campaign_name} round "
            f"{first.round_number} {first.kind.replace('_', ' ')} ({first.detail})"
        )

    def figures(self) -> dict[str, int | float]:
        figures: dict[str, int | float] = {"violations": len(self.violations)}
        figures.update({kind: sum(1 for v in self.violations if v.kind == kind) for kind in VIOLATION_KINDS})
        return figures

    def tables(self) -> dict[str, str]:
        if not self.violations:
            return {}
        rows = [(v.campaign_name, v.round_number, v.kind, v.scheduled_at, v.sent_at, v.detail) for v in self.violations]
        return {
            "violations_table": markdown_table(["campaign", "round", "violation", "scheduled", "sent", "detail"], rows)
        }

    def client_findings(self) -> dict[str, dict[str, Any]]:
        return {}


def round_integrity(conn: Connection, campaign_name: str | None = None) -> RoundIntegrityResult:
    rows = conn.execute(load_sql(__file__, "round_violations.sql"), {"campaign_name": campaign_name})
    return RoundIntegrityResult(name="lifecycle_round_integrity", violations=[RoundViolation(*r) for r in rows])


@dataclass(frozen=True)
class CampaignStatus:
    campaign_name: str
    rounds: list[dict[str, Any]]
    notifications: list[dict[str, Any]]
    integrity: RoundIntegrityResult


def campaign_status(conn: Connection, campaign_name: str) -> CampaignStatus:
    rounds = [
        dict(r)
        for r in conn.execute(load_sql(__file__, "campaign_rounds.sql"), {"campaign_name": campaign_name}).mappings()
    ]
    if not rounds:
        raise CampaignOpsError(f"no lifecycle campaign named {campaign_name!r}")
    notifications = [
        dict(r)
        for r in conn.execute(
            load_sql(__file__, "campaign_notifications.sql"), {"campaign_name": campaign_name}
        ).mappings()
    ]
    return CampaignStatus(campaign_name, rounds, notifications, round_integrity(conn, campaign_name))
