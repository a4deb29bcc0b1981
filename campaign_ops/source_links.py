"""Where each asset's logic lives, shown on its page in the UI ("Source code" / the code link).

Most assets here are tables of the outreach platform that our jobs correct in place (`AssetSpec`s), so Dagster's
`with_source_code_references` has no function body to point at. The link goes to the plain core function that
does the work instead — the place a reader should start — as a local file reference (the UI opens it with the
code link protocol set under Settings).
"""

import importlib
import inspect
from collections.abc import Mapping

import dagster as dg

# asset → "module:function" of the core function that changes or computes it
SOURCES: Mapping[str, str] = {
    "leads": "campaign_ops.de_enrollment.core:de_enroll_clients",
    "campaigns": "campaign_ops.de_enrollment.core:de_enroll_clients",
    "de_enrollment_runs": "campaign_ops.de_enrollment.core:de_enroll_clients",
    "campaign_stats_reconciliation": "campaign_ops.reconciliation.core:reconcile_clients",
    "monitoring_archives": "campaign_ops.archival.core:archive_clients",
    "daily_health_report": "campaign_ops.reports.core:daily_health_report",
    "weekly_review_report": "campaign_ops.reports.core:weekly_review_report",
    "database_schema": "campaign_ops.db.verify:verify_schema",
    "lifecycle_campaign_schedules": "campaign_ops.lifecycle.core:round_integrity",
    "onboarding_states": "campaign_ops.onboarding.core:detect_stuck_clients",
    "de_enrollment_latency": "campaign_ops.de_enrollment.due:latency",
    "processing_pause": "campaign_ops.pause.core:record_pause",
    "monthly_compliance_report": "campaign_ops.compliance.core:monthly_compliance_report",
}


def code_reference(target: str) -> dg.LocalFileCodeReference:
    """The file and line of `module:function`."""
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    path = inspect.getsourcefile(function)
    assert path is not None, target
    return dg.LocalFileCodeReference(
        file_path=path, line_number=inspect.getsourcelines(function)[1], label=f"{module_name}.{function_name}"
    )


def with_source_link(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The spec with a code reference to its core function (specs not listed are left as they are)."""
    target = SOURCES.get(spec.key.to_user_string())
    if target is None:
        return spec
    link = dg.CodeReferencesMetadataValue(code_references=[code_reference(target)])
    return spec.merge_attributes(metadata={"dagster/code_references": link})
