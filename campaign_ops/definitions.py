"""The campaign-ops code location: assembles each capability's Dagster objects, nothing more."""

import dagster as dg

from campaign_ops import run_tags, shared_defs
from campaign_ops.alerts import defs as alerts
from campaign_ops.archival import defs as archival
from campaign_ops.checks import defs as checks
from campaign_ops.compliance import defs as compliance
from campaign_ops.critical_alerts import defs as critical_alerts
from campaign_ops.de_enrollment import defs as de_enrollment
from campaign_ops.de_enrollment import due_defs as de_enrollment_due
from campaign_ops.lifecycle import defs as lifecycle
from campaign_ops.onboarding import defs as onboarding
from campaign_ops.oncall import defs as oncall
from campaign_ops.pause import defs as pause
from campaign_ops.reconciliation import defs as reconciliation
from campaign_ops.reports import defs as reports
from campaign_ops.retention import defs as retention
from campaign_ops.source_links import RepositoryLink, quiet, with_source_links

# who answers for the data and its checks (each asset's page; the catalog filters by it): one team, for every asset
OWNERS = ["team:campaign-ops"]


def _owned(spec: dg.AssetSpec) -> dg.AssetSpec:
    return spec if spec.owners else spec.replace_attributes(owners=OWNERS)


def _definitions(repository: RepositoryLink | None) -> dg.Definitions:
    merged = dg.Definitions.merge(
        shared_defs.defs,
        de_enrollment.defs,
        de_enrollment_due.defs,
        reconciliation.defs,
        archival.defs,
        checks.defs,
        compliance.defs,
        reports.defs,
        onboarding.defs,
        lifecycle.defs,
        alerts.defs,
        critical_alerts.defs,
        oncall.defs,
        retention.defs,
        run_tags.defs,
        pause.defs,
        # the default for every job without its own executor — above all the implicit __ASSET_JOB that
        # "Materialize" in the catalog runs: each run is one or a few small steps, and a step subprocess costs
        # more than the work
        dg.Definitions(executor=dg.in_process_executor),
    )
    with quiet():
        owned = merged.map_asset_specs(func=_owned)
    return with_source_links(owned, repository)


# what this process runs and tests: code links are paths relative to the repository's root
defs = _definitions(None)


@dg.definitions
def code_location() -> dg.Definitions:
    """What Dagster's loaders load (they prefer this function to `defs`): the same definitions, with code links into
    the repository that CAMPAIGN_OPS_REPOSITORY_URL names, read when the code location loads."""
    repository = RepositoryLink.from_env()
    return defs if repository is None else _definitions(repository)
