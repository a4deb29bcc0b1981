"""Stuck onboarding clients as a Dagster asset check, evaluated every 5 minutes (the hardening report's
RuntimeMonitor) with the other alerting checks by `alerting_checks_sensor` (checks/defs.py); its own job is for a
run of this check alone (Execute in the UI)."""

import dagster as dg
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.check_kit.dagster_jobs import check_job
from campaign_ops.check_kit.dagster_result import could_not_run, outcome_to_check_result
from campaign_ops.check_kit.outcome import Level
from campaign_ops.check_kit.remedies import remedy
from campaign_ops.errors import CampaignOpsError, DatabaseUnavailableError
from campaign_ops.onboarding.core import detect_stuck_clients
from campaign_ops.resources import DatabaseResource
from campaign_ops.source_links import code_of

onboarding_states_asset = dg.AssetSpec(
    "onboarding_states",
    group_name="onboarding",
    description="Each client's state in the onboarding pipeline (S1_SIGNUP … S9_TEST_CALL … COMPLETE).",
    kinds={"postgres"},
    metadata=code_of(detect_stuck_clients),
)


class StuckOnboardingConfig(dg.Config):
    threshold_minutes: dict[str, int] = Field(
        default_factory=dict,
        description="Per-state overrides of onboarding_pipeline_states.default_threshold_minutes (30..1440).",
    )


@dg.asset_check(
    asset=onboarding_states_asset.key,
    name="stuck_onboarding_clients",
    description="Clients longer than their state's threshold in onboarding; severity from the worst client "
    "(HIGH: ERROR, else WARN). Stamps stuck_detected_at once per state.",
    metadata=remedy(
        "see where each client waits and since when, then move it on in the onboarding pipeline (a terminal "
        "state needs a person; S5_CONFIRM_LIVE without payment needs billing)",
        "campaign-ops stuck-clients",
    ),
)
def stuck_onboarding_clients_check(
    context: dg.AssetCheckExecutionContext, config: StuckOnboardingConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    try:
        with database.connect() as conn, conn.begin():
            report = detect_stuck_clients(conn, thresholds=config.threshold_minutes)
    except (DatabaseUnavailableError, SQLAlchemyError) as exc:
        return could_not_run(context, exc)
    except CampaignOpsError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    (context.log.warning if report.level != Level.PASSED else context.log.info)(report.summary)
    # named by company (the description, `clients_with_findings`, the findings table), not by uuid
    return outcome_to_check_result(report, names={c.client_id: c.company_name for c in report.clients})


stuck_onboarding_check_job = check_job(
    "stuck_onboarding_check_job",
    [stuck_onboarding_clients_check],
    "Stuck onboarding clients (the hardening report), alone; every 5 minutes alerting_checks_sensor evaluates it.",
)


defs = dg.Definitions(
    assets=[onboarding_states_asset],
    asset_checks=[stuck_onboarding_clients_check],
    jobs=[stuck_onboarding_check_job],
)
