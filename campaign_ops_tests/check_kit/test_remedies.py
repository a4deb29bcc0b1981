"""What a failed check says to do is declared on the check, and its link opens the fixing job for the client in
question."""

from urllib.parse import parse_qs, urlsplit

from campaign_ops.check_kit.remedies import guidance, remedy_of
from campaign_ops.clients.partition_keys import partition_key
from campaign_ops.definitions import defs

A = "7f0e1b2a-1111-4222-8333-444455556666"
B = "0a1b2c3d-5555-4666-8777-888899990000"
NAMES = {A: "Demo Client 314", B: "Acme"}


def test_each_remedy_is_read_from_its_checks_definition_and_names_a_real_job() -> None:
    graph = defs.get_repository_def().asset_graph
    declared = {key.name: remedy_of(key.name) for key in graph.asset_check_keys}
    with_remedy = {name for name, r in declared.items() if r is not None}
    assert {"stats_drift", "stuck_leads", "de_enrollment_health", "duplicate_de_enrollments"} <= with_remedy
    for name in with_remedy:
        job = declared[name].job  # type: ignore[union-attr]
        assert job is None or defs.resolve_job_def(job).partitions_def is not None, (name, job)
    assert remedy_of("stats_drift").job == "stats_reconciliation_job"  # type: ignore[union-attr]


def test_a_fix_link_opens_the_fixing_jobs_partitions_page_with_the_clients_partition_selected() -> None:
    help_ = guidance("stats_drift", {A: {"level": "warn", "campaigns": ["Spring off by 6"]}}, NAMES, "http://ui/")
    assert help_ is not None and help_.link is not None
    url = urlsplit(help_.link)
    assert url.path == "/locations/campaign_ops/jobs/stats_reconciliation_job/partitions"
    # the Materialize… dialog of that page opens with the `partition` of the query string selected (Dagster 1.13)
    assert parse_qs(url.query) == {"partition": [partition_key(A, "Demo Client 314")]}
    assert help_.link in help_.todo

    # several clients: the page of the job, whose dialog finds each by name; each client's alert has its own link
    both = guidance("stats_drift", {c: {"level": "warn"} for c in (A, B)}, NAMES, "http://ui")
    assert both is not None and both.link == "http://ui/locations/campaign_ops/jobs/stats_reconciliation_job/partitions"
    assert guidance("duplicate_de_enrollments", {A: {"level": "error"}}, NAMES, "http://ui").link is None  # type: ignore[union-attr]
