"""Every SOP check by name, as `campaign-ops check` offers them (each over a connection and a client scope)."""

from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Connection

from campaign_ops.check_kit.outcome import CheckOutcome
from campaign_ops.checks.core import (
    evaluate_duplicate_de_enrollments,
    evaluate_schema_contract,
    evaluate_stats_drift,
    evaluate_stuck_leads,
)
from campaign_ops.checks.health import evaluate_de_enrollment_health
from campaign_ops.compliance.core import evaluate_messages_after_opt_out, evaluate_unhonored_opt_outs

CHECKS: Mapping[str, Callable[[Connection, Sequence[str] | None], CheckOutcome]] = {
    "stuck_leads": evaluate_stuck_leads,
    "stats_drift": evaluate_stats_drift,
    "duplicate_de_enrollments": evaluate_duplicate_de_enrollments,
    "de_enrollment_health": evaluate_de_enrollment_health,
    "schema_contract": evaluate_schema_contract,
    "messages_after_opt_out": evaluate_messages_after_opt_out,
    "unhonored_opt_outs": evaluate_unhonored_opt_outs,
}
