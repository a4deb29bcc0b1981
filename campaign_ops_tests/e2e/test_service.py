"""End to end, as users work: `campaign-ops dev` (code server, daemon, webserver on PostgreSQL), driven through
Dagster's GraphQL API and a real browser, then crashed.

One test on purpose: starting the three processes costs ~10 s of a 2-core machine and every e2e second is paid in
every CI run, so the steps share one service and run in the order a user would meet them.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import Engine, make_url, text

from bench.sop_queries import SOP_DUPLICATES, SOP_STATS_DRIFT, SOP_STATS_MATCH, SOP_STUCK_LEADS
from campaign_ops.clients.partition_keys import client_id_of, client_ids_of
from campaign_ops.db.engine import make_engine
from campaign_ops.demo.seed import SeedSummary
from campaign_ops.service.dagster_api import DagsterApi, metadata_value, wait_for
from campaign_ops_tests.e2e.conftest import ARTIFACTS, RunningService

JOB = "de_enrollment_job"
CHROMIUM = os.environ.get("CAMPAIGN_OPS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in CI containers
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# the crash step: small commits so a sweep runs long enough to be killed in the middle of it, and few enough that
# the retry finishes the rest well within its maximum runtime on a loaded 2-core machine
CRASH_CHUNK_SIZE = 50  # ~185 commits for the 9,218 due leads: seconds of work, killed after the first two
CRASH_MAX_RUNTIME_SECONDS = 90  # the retry must finish the rest within it even on a busy 2-core machine


pytestmark = pytest.mark.e2e
# what the UI shows is awaited up to 30 s, not Playwright's 5 s: on a loaded 2-core machine the webserver answers
# GraphQL in seconds (a truly missing element still fails, after 30 s)
expect.set_options(timeout=30_000)


def test_service_end_to_end(dagster_service: RunningService, seeded_clients: SeedSummary) -> None:
    service = dagster_service
    api = service.api
    engine = make_engine(service.app_url, pooled=False)
    try:
        # a quarter-hour tick must not start a sweep in the middle of the steps below (the UI's toggle)
        api.stop_schedule("de_enrollment_sweep_schedule")
        active = active_clients(engine)
        inactive = scalar_list(engine, "SELECT id::text FROM clients WHERE NOT is_active")

        keys = step_partitions_appear(api, active)
        step_the_5_minute_checks_are_evaluated_without_a_run(api)
        step_unknown_partitions_refused(api, [*inactive, "not-a-client"])
        backfill_run_id = step_one_client_backfill(api, engine, keys[0])
        step_browser(api, service.base_url, keys, backfill_run_id)
        step_crash_and_recover(service, engine, keys, seeded_clients)
        step_on_call_sees_the_truth_at_operating_rates(api, engine, keys)
        step_as_people_work(service, engine, keys)
        step_ctrl_c_stops_everything(service, engine)
    finally:
        engine.dispose()


# --- 1. through the API ----------------------------------------------------------------------------------------


def step_partitions_appear(api: DagsterApi, active: list[str]) -> list[str]:
    """The daemon's first tick of clients_partition_sync_sensor turns the active clients into partitions, keyed
    by name and uuid ("Demo Client 001--<uuid>"); returns the keys in the instance's order."""

    def synced() -> list[str] | None:
        keys = api.job_partition_keys(JOB)
        return keys if sorted(client_ids_of(keys)) == active else None

    keys = wait_for("the clients partitions to equal the active clients", synced, timeout_seconds=120)
    assert all(k.startswith("Demo Client ") and "--" in k for k in keys), keys
    return keys


def step_the_5_minute_checks_are_evaluated_without_a_run(api: DagsterApi) -> None:
    """The daemon ticks alerting_checks_sensor: the checks' evaluations land in their history with no run (the UI
    lists them), and no run of alerting_checks_job was started for them."""
    evaluation = wait_for(
        "the schema contract evaluated by alerting_checks_sensor",
        lambda: next((e for e in api.check_executions("database_schema", "schema_contract") if not e["runId"]), None),
        timeout_seconds=180,
        interval=2,
    )
    assert evaluation["status"] == "SUCCEEDED" and evaluation["evaluation"]["success"], evaluation
    assert api.runs("alerting_checks_job") == []


def step_unknown_partitions_refused(api: DagsterApi, bad_keys: list[str]) -> None:
    """A backfill for a key that is not an active client's partition is refused, and nothing is created."""
    for key in bad_keys:
        result = api.launch_job_backfill(JOB, [key])
        assert result["__typename"] == "PartitionKeysNotFoundError", result
        assert key in result["message"]
    assert api.backfills() == []
    assert [r for r in api.runs(JOB) if "dagster/schedule_name" not in r["tags"]] == []


def step_one_client_backfill(api: DagsterApi, engine: Engine, key: str) -> str:
    """launchPartitionBackfill for one client, as the UI sends it: the daemon runs it, the client's leads (only) are
    de-enrolled, the run records the figures as materialization metadata and evaluates its assets' checks."""
    client = client_id_of(key)
    others_stuck_before = stuck_leads(engine, exclude=client)
    result = api.launch_job_backfill(JOB, [key])
    assert result["__typename"] == "LaunchBackfillSuccess", result
    backfill = wait_for(
        "the backfill's run",
        lambda: next((b for b in api.backfills() if b["id"] == result["backfillId"] and b["runs"]), None),
        timeout_seconds=180,
    )
    assert len(backfill["runs"]) == 1, backfill
    run = api.wait_run_finished(backfill["runs"][0]["runId"], timeout_seconds=60)
    assert run["status"] == "SUCCESS", api.run_messages(run["runId"])[-20:]
    assert run["tags"]["dagster/backfill"] == result["backfillId"]

    de_enrolled = scalar(engine, "SELECT count(*) FROM de_enrollment_lead_log WHERE client_id = :c", c=client)
    assert de_enrolled > 0
    assert stuck_leads(engine, only=client) == 0
    assert stuck_leads(engine, exclude=client) == others_stuck_before > 0  # the other client was not touched

    leads = [m for m in run["assetMaterializations"] if m["assetKey"]["path"] == ["leads"]]
    assert [m["partition"] for m in leads] == [key]
    assert metadata_value(leads[0], "leads_de_enrolled") == de_enrolled
    assert metadata_value(leads[0], "status") == "success"

    # launched as the UI does (the job's assets), the run planned every check of its assets and evaluated them
    # itself: each check's latest result in the UI is a real one of this run, never "Skipped"
    name = scalar_text(engine, "SELECT company_name FROM clients WHERE id = :c", c=client)
    latest_skipped = api.check_executions("leads", "skipped_de_enrollments", limit=1)
    assert [e["runId"] for e in latest_skipped] == [run["runId"]], latest_skipped
    assert latest_skipped[0]["status"] in ("SUCCEEDED", "FAILED"), latest_skipped  # a real result, not SKIPPED
    evaluations = [e for e in api.check_executions("leads", "stuck_leads") if e["runId"] == run["runId"]]
    evaluated = [e["evaluation"] for e in evaluations if e["evaluation"]]
    assert evaluated, evaluations
    # they answer for the client first, and judge every client: the check's latest evaluation (its status in the
    # UI) is never one client's, so the other clients' stuck leads are still counted in it
    for evaluation in evaluated:
        assert evaluation["description"].startswith(f"{name} ({client}): no findings. "), evaluation
        stuck = next(m for m in evaluation["metadataEntries"] if m["label"] == "stuck_leads")
        assert stuck.get("intValue", 0) > 0, evaluation
    # so no second run of the integrity checks follows it
    assert api.runs("integrity_checks_job", {"campaign_ops/after_run": run["runId"]}) == []
    return run["runId"]


# --- 2. in a browser ----------------------------------------------------------------------------------------


def step_browser(api: DagsterApi, base_url: str, active: list[str], backfill_run_id: str) -> None:
    """Debian's chromium, fresh profile: partitions page, run page, checks view, and a key that is no client."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: `make install` installs Debian's chromium package"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.set_default_timeout(60_000)

            page.goto(f"{base_url}/locations/campaign_ops/jobs/{JOB}/partitions")
            skip_community_dialog(page)
            expect(page.get_by_text("Total partitions")).to_be_visible()
            page.get_by_role("button", name="Show per-asset status").click()
            page.screenshot(path=str(ARTIFACTS / "1-partitions.png"), full_page=True)

            page.goto(f"{base_url}/runs/{backfill_run_id}")
            expect(page.get_by_text(backfill_run_id[:8]).first).to_be_visible()
            expect(page.get_by_text("Success", exact=True).first).to_be_visible()
            expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "2-backfill-run.png"))

            # leads carries more than one check: open stuck_leads. The page shows its latest evaluation, whichever
            # run made it (the backfill's after-run checks, or a check sensor's tick; both judge every client, so
            # the other client's stuck leads are in it): the UI must say what that evaluation said. A newer one may
            # land while the page loads: then the page is loaded again
            for _ in range(3):
                latest = latest_evaluation(api, "leads", "stuck_leads")
                page.goto(f"{base_url}/assets/leads?view=checks")
                page.get_by_text("stuck_leads", exact=True).first.click()
                expect(page.get_by_text("Evaluation result")).to_be_visible()
                if latest_evaluation(api, "leads", "stuck_leads") == latest:
                    break
            expect(page.get_by_text("Passed" if latest["success"] else "Failed", exact=True).first).to_be_visible()
            # "N stuck lead(s) …" (after the client a run asked about, if any), then where and what to do
            summary = latest["description"].split("All active clients: ")[-1].split(". ")[0]
            expect(page.get_by_text(summary, exact=False).first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "3-stuck-leads-check.png"))

            # the UI's backfill dialog: a key that is not a client matches no partition and cannot be launched
            page.goto(f"{base_url}/locations/campaign_ops/jobs/{JOB}/partitions")
            page.get_by_role("button", name="Materialize…").click()
            page.get_by_text("Select a partition or create one").click()
            page.keyboard.type("not-a-client")
            expect(page.get_by_text("No matching partitions found")).to_be_visible()
            expect(page.get_by_role("button", name="Launch backfill")).to_be_disabled()
            page.screenshot(path=str(ARTIFACTS / "4-unknown-partition-refused.png"))
        finally:
            browser.close()


def latest_evaluation(api: DagsterApi, asset: str, check: str) -> dict:
    return next(e["evaluation"] | {"runId": e["runId"]} for e in api.check_executions(asset, check) if e["evaluation"])


def skip_community_dialog(page: Page) -> None:
    """A fresh instance greets the first visitor with "Join the Dagster community": Skip it before anything else."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(state="visible", timeout=20_000)
    except PlaywrightTimeoutError:  # shown once per instance: absent is fine
        return
    skip.click()
    expect(skip).to_be_hidden()


# --- 3. crash ------------------------------------------------------------------------------------------------


def step_crash_and_recover(service: RunningService, engine: Engine, keys: list[str], seeded: SeedSummary) -> None:
    """kill -9 a sweep's run worker (the code server sees it die and fails the run; the retry takes over), then
    kill -9 the retry's run worker together with the code server (nobody is left to see it: the run stays STARTED
    until its maximum runtime ends it; `campaign-ops dev` restarts the code server; the second retry finishes).
    Afterwards the SOP's stuck/drift/duplicate queries return nothing and no advisory lock is held."""
    api = service.api
    sweep_id = api.launch_run(
        JOB,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
            "dagster/max_runtime": str(CRASH_MAX_RUNTIME_SECONDS),  # shortened for the test
        },
        run_config={"ops": {"de_enrollment": {"config": {"chunk_size": CRASH_CHUNK_SIZE}}}},
    )

    # (a) the sweep's run worker only
    due = seeded.completable + seeded.opted_out_waiting + seeded.booked_waiting
    with held_in_the_middle_of_work(service, engine, sweep_id, due) as worker:
        worker.kill()
    failed = api.wait_run_finished(sweep_id, timeout_seconds=60)
    assert failed["status"] == "FAILURE"
    assert any("SIGKILL" in m for m in api.run_messages(sweep_id))
    first_retry = wait_for(
        "the daemon's retry of the killed sweep", lambda: retry_of(api, sweep_id), timeout_seconds=120
    )
    assert first_retry["tags"]["dagster/retry_number"] == "1"
    assert first_retry["tags"]["dagster/max_runtime"] == str(CRASH_MAX_RUNTIME_SECONDS)

    # (b) the retry's run worker and the code server with it
    with held_in_the_middle_of_work(service, engine, first_retry["runId"], due) as worker:
        code_server = service.code_server()
        killed_at = time.monotonic()
        for proc in (worker, code_server):
            proc.kill()
    service.remember_pids()
    wait_for("campaign-ops dev to restart the code server", lambda: restarted_code_server(service, code_server), 60)
    assert api.run(first_retry["runId"])["status"] == "STARTED"  # nobody noticed: only the maximum runtime helps
    ended = api.wait_run_finished(first_retry["runId"], timeout_seconds=CRASH_MAX_RUNTIME_SECONDS + 120)
    assert ended["status"] == "FAILURE"
    assert any("maximum runtime" in m for m in api.run_messages(first_retry["runId"]))
    assert time.monotonic() - killed_at < CRASH_MAX_RUNTIME_SECONDS + 60

    second_retry = wait_for(
        "the second retry", lambda: retry_of(api, first_retry["runId"]), timeout_seconds=180, interval=2
    )
    finished = api.wait_run_finished(second_retry["runId"], timeout_seconds=180)
    assert finished["status"] == "SUCCESS", api.run_messages(second_retry["runId"])[-20:]

    # every awaiting lead de-enrolled exactly once: nothing half-applied, nothing twice
    assert scalar(engine, "SELECT count(*) FROM de_enrollment_lead_log") == due
    with engine.connect() as conn:
        assert conn.exec_driver_sql(SOP_STUCK_LEADS).scalar() == 0
        assert conn.exec_driver_sql(SOP_STATS_DRIFT).all() == []
        assert conn.exec_driver_sql(SOP_STATS_MATCH).all() == []
        assert conn.exec_driver_sql(SOP_DUPLICATES).all() == []
    # the killed passes' run rows were closed by the next pass of their client, none is left 'running'
    assert scalar(engine, "SELECT count(*) FROM de_enrollment_runs WHERE status = 'running'") == 0
    assert scalar(engine, "SELECT count(*) FROM de_enrollment_runs WHERE error_details LIKE 'abandoned%'") == 2
    assert advisory_locks(engine) == 0


@contextmanager
def held_in_the_middle_of_work(
    service: RunningService, engine: Engine, run_id: str, due: int
) -> Iterator[psutil.Process]:
    """The run worker of `run_id`, held in the middle of its work (some leads committed, not all `due`) until the
    caller has killed it.

    A pass of a few seconds cannot be caught by watching the run's status (a retry went from STARTING to SUCCESS
    between two GraphQL polls; freezing its pid, itself read through GraphQL, came too late once). So the database
    holds it: once the run has committed some leads, this test takes the row locks of every campaign. Each of the
    run's commits locks its campaigns before it updates their counters, so its next commit waits here, however
    fast the run, while the pid and status are read. Leaving the block releases the locks."""
    api = service.api
    logged = "SELECT count(*) FROM de_enrollment_lead_log l JOIN de_enrollment_runs r ON r.id = l.run_id "
    logged += "WHERE r.dagster_run_id = :run_id"
    wait_for("the run to commit some leads", lambda: scalar(engine, logged, run_id=run_id) >= 100, 300, 0.1)
    with engine.connect() as conn, conn.begin():
        # in id order, as the run locks them: neither can hold one the other waits for while waiting itself
        conn.execute(text("SELECT 1 FROM campaigns ORDER BY id FOR UPDATE"))
        assert scalar(engine, "SELECT count(*) FROM de_enrollment_lead_log") < due, "nothing was left to do"
        pid = wait_for("the run worker's pid", lambda: api.run_worker_pid(run_id), timeout_seconds=120)
        status = api.run(run_id)["status"]
        assert status == "STARTED", f"the run is {status}, not in the middle of its work"
        service.remember_pids()
        yield psutil.Process(pid)


def retry_of(api: DagsterApi, run_id: str) -> dict | None:
    return next(iter(api.runs(JOB, {"dagster/parent_run_id": run_id})), None)


def restarted_code_server(service: RunningService, killed: psutil.Process) -> bool:
    try:
        return service.code_server().pid != killed.pid and "restarted code-server" in service.output()
    except AssertionError:
        return False


# --- 4. what on-call sees while the due sensor runs ---------------------------------------------------------

ON_CALL_WINDOW_SECONDS = 150  # the due sensor ticks every 5 s; the alert sensor every 60 s


def step_on_call_sees_the_truth_at_operating_rates(api: DagsterApi, engine: Engine, keys: list[str]) -> None:
    """The due sensor on, leads becoming due (opt-outs) in a client whose passes fail and, 20 s later, in one whose
    lock a session of its own holds: the runs that skip the locked client succeed, yet on-call gets one alert
    naming the failing client, still open; the locked client is not relaunched every few seconds (the sensor's
    runs back off); the Runs list names both."""
    failing, locked = (client_id_of(k) for k in keys[:2])
    names = {c: scalar_text(engine, "SELECT company_name FROM clients WHERE id = :c", c=c) for c in (locked, failing)}
    holder = engine.connect()
    try:
        holder.execute(text("SELECT pg_advisory_lock(client_lock_key(CAST(:c AS uuid)))"), {"c": locked})
        holder.commit()
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE FUNCTION e2e_no_logs() RETURNS trigger LANGUAGE plpgsql AS $$"
                    " BEGIN RAISE EXCEPTION 'log disk full'; END $$;"
                    " CREATE TRIGGER e2e_no_logs BEFORE INSERT ON de_enrollment_lead_log FOR EACH ROW"
                    f" WHEN (NEW.client_id = '{failing}') EXECUTE FUNCTION e2e_no_logs();"
                )
            )
        before = {r["runId"] for r in api.runs("de_enrollment_sweep_job")}
        api.start_sensor("de_enrollment_due_sensor")
        started = time.monotonic()
        opt_out(engine, [failing])
        time.sleep(20)
        while time.monotonic() - started < ON_CALL_WINDOW_SECONDS:
            opt_out(engine, [locked])  # the platform keeps writing opt-outs
            time.sleep(15)
        api.stop_sensor("de_enrollment_due_sensor")

        def due_runs() -> list[dict] | None:
            runs = [
                r
                for r in api.runs("de_enrollment_sweep_job", {"campaign_ops/sweep": "due_clients"})
                if r["runId"] not in before
            ]
            return runs if runs and all(r["status"] in ("SUCCESS", "FAILURE") for r in runs) else None

        runs = wait_for("the due runs to end", due_runs, timeout_seconds=120, interval=2)
        shown = [(r["status"], {k: v for k, v in r["tags"].items() if k.startswith("campaign_ops/")}) for r in runs]
        # the Runs list names who failed and who was skipped, on the runs themselves
        failed_runs = [r for r in runs if r["tags"].get("campaign_ops/failed_clients") == names[failing]]
        assert failed_runs and all(r["status"] == "FAILURE" for r in failed_runs), shown
        skipped = [r for r in runs if names[locked] in r["tags"].get("campaign_ops/skipped_clients", "")]
        # a held lock backs off (1, then 2 minutes): not a run every ~10 s
        assert 1 <= len(skipped) <= 3, shown
        # a run that skipped the locked client and did not include the failing one succeeded ...
        assert any(r["status"] == "SUCCESS" and r in skipped for r in runs), shown
        # ... yet one alert names the failing client, still firing
        row = wait_for(
            "the run alert of the failing client",
            lambda: alert(engine, f"run_failed:de_enrollment_sweep_job:{failing}"),
            timeout_seconds=150,
            interval=5,
        )
        assert row["resolved_at"] is None and names[failing] in row["title"], row
        assert alert(engine, f"run_failed:de_enrollment_sweep_job:{locked}") is None  # skipped is no failure
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS e2e_no_logs ON de_enrollment_lead_log"))
            conn.execute(text("DROP FUNCTION IF EXISTS e2e_no_logs()"))
        holder.close()


def opt_out(engine: Engine, clients: list[str]) -> None:
    """The platform flips `opted_out` on two active leads of each client (and nothing else)."""
    with engine.begin() as conn:
        for client in clients:
            conn.execute(
                text(
                    "UPDATE leads SET opted_out = true WHERE id IN (SELECT id FROM leads WHERE client_id = :c"
                    " AND is_active AND NOT opted_out ORDER BY id LIMIT 2)"
                ),
                {"c": client},
            )


def alert(engine: Engine, key: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT alert_key, resolved_at, title FROM alert_logs WHERE alert_key = :k"),
            {"k": key},
        ).first()
    return dict(row._mapping) if row is not None else None


# --- 5. as operators and on-call work -------------------------------------------------------------------------


def shown_in_partition_list(key: str) -> str:
    """How the asset's Partitions list (1400 px wide window) shows a long key: middle-truncated, 14 + 14."""
    return f"{key[:14]}…{key[-14:]}" if len(key) > 30 else key


def step_as_people_work(service: RunningService, engine: Engine, keys: list[str]) -> None:
    """Find a client by its name and backfill it from the UI; read a failed check's client and remedy; pause and
    resume processing. Screenshots in artifacts/e2e/5-… to 9-…."""
    api = service.api
    key = keys[-1]
    client = client_id_of(key)
    name = scalar_text(engine, "SELECT company_name FROM clients WHERE id = :c", c=client)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.set_default_timeout(60_000)
            base = service.base_url

            # (a) find the client by its name as people write it (any case) in the asset's partitions
            page.goto(f"{base}/assets/leads?view=partitions")
            skip_community_dialog(page)
            page.get_by_placeholder("Filter by name…").fill(name.lower())
            expect(page.get_by_text(shown_in_partition_list(key))).to_be_visible()
            page.get_by_text(shown_in_partition_list(key)).click()
            expect(page.locator(f':text-is("{key}"):visible').first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "5-client-found-by-name.png"))

            # (b) and backfill it from the job's dialog, found by name again
            before = {r["runId"] for r in api.runs(JOB)}
            page.goto(f"{base}/locations/campaign_ops/jobs/{JOB}/partitions")
            page.get_by_role("button", name="Materialize…").click()
            page.get_by_text("Select a partition or create one").click()
            page.keyboard.type(name)
            expect(page.get_by_text("Select all (1)")).to_be_visible()
            page.get_by_text("Select all (1)").click()  # the one client the name matches
            page.keyboard.press("Escape")
            page.screenshot(path=str(ARTIFACTS / "6-backfill-by-name.png"))
            # one partition: the dialog's button reads "Launch 1 run"
            page.get_by_role("button", name=re.compile(r"^Launch (1 run|backfill)$")).click()
            run = wait_for(
                "the UI backfill's run",
                lambda: next((r for r in api.runs(JOB) if r["runId"] not in before), None),
                timeout_seconds=120,
            )
            run = api.wait_run_finished(run["runId"], timeout_seconds=180)
            assert run["status"] == "SUCCESS", api.run_messages(run["runId"])[-20:]
            assert run["tags"]["dagster/partition"] == key
            # it planned the checks of its assets and evaluated them itself, before the drift below is made: the
            # checks' latest results are real ones of that run, not "Skipped"
            latest = api.check_executions("leads", "skipped_de_enrollments", limit=1)
            assert [e["runId"] for e in latest] == [run["runId"]], latest
            assert latest[0]["status"] in ("SUCCEEDED", "FAILED"), latest  # a real result, not SKIPPED
            # and so the leads' Checks tab reads: no check of the asset "Skipped"
            page.goto(f"{base}/assets/leads?view=checks")
            expect(page.get_by_text("skipped_de_enrollments", exact=True).first).to_be_visible()
            expect(page.get_by_text("stuck_leads", exact=True).first).to_be_visible()
            expect(page.get_by_text("Skipped", exact=True)).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "6b-checks-after-ui-backfill.png"))

            # (c) the integrity checks for that client fail on the drift: the check says who and what to do
            # (drift made after the backfill: de-enrollment recounts its clients' campaigns)
            campaign = scalar_text(
                engine, "SELECT name FROM campaigns WHERE client_id = :c ORDER BY id LIMIT 1", c=client
            )
            with engine.begin() as conn:
                conn.execute(
                    text("UPDATE campaigns SET completed_leads_count = completed_leads_count + 50 WHERE name = :n"),
                    {"n": campaign},
                )
            # on-call presses "Execute" on the check (every client: the failing one is named)
            page.goto(f"{base}/assets/campaigns?view=checks")
            page.get_by_text("stats_drift", exact=True).first.click()
            page.locator("button", has_text=re.compile(r"^\s*Execute\s*$")).first.click()
            toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}")).first
            expect(toast).to_be_visible()
            launched = re.search(r"Launched run ([0-9a-f]{8})", toast.inner_text())
            assert launched, toast.inner_text()
            drift = wait_for(
                "the evaluation of the check executed from the UI",
                lambda: next(
                    (
                        e
                        for e in api.check_executions("campaigns", "stats_drift")
                        if e["runId"].startswith(launched.group(1)) and e["evaluation"]
                    ),
                    None,
                ),
                timeout_seconds=180,
                interval=2,
            )
            description = drift["evaluation"]["description"]
            assert not drift["evaluation"]["success"] and f"Where: {name} ({client})" in description, description
            assert f'campaign-ops reconcile --client "{name}"' in description, description
            # the link to the fixing job points at this UI (the port `campaign-ops dev` serves on)
            assert f"{base}/locations/campaign_ops/jobs/stats_reconciliation_job" in description, description

            # and reads it on the check's page: which client, which campaign, what to do
            def shown() -> bool:
                page.reload()
                page.get_by_text("stats_drift", exact=True).first.click()
                try:
                    expect(page.get_by_text(f"Where: {name} ({client})", exact=False).first).to_be_visible()
                except AssertionError:
                    return False
                return True

            wait_for("the check's page to show the failed evaluation", shown, timeout_seconds=120, interval=2)
            expect(page.get_by_text(f"{name}: {campaign} off by 50", exact=False).first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "7-failed-check-says-who-and-what.png"), full_page=True)

            # (d) pause: writing schedules stop (alerts keep running), a new writing run is refused
            env = {
                **os.environ,
                "DATABASE_URL": service.app_url,
                "DAGSTER_PG_URL": service.instance_url,
                "DAGSTER_HOME": str(service.dagster_home),
            }
            # one launch in the UI: Jobs → pause_processing_job → Launchpad → Launch run
            before_pause = {r["runId"] for r in api.runs("pause_processing_job")}
            page.goto(f"{base}/locations/campaign_ops/jobs/pause_processing_job/playground")
            page.get_by_role("button", name="Launch run").click()
            pause_run = wait_for(
                "the pause run launched from the UI",
                lambda: next((r for r in api.runs("pause_processing_job") if r["runId"] not in before_pause), None),
                timeout_seconds=60,
            )
            pause_run = api.wait_run_finished(pause_run["runId"], timeout_seconds=180)
            assert pause_run["status"] == "SUCCESS", api.run_messages(pause_run["runId"])[-20:]
            paused = "\n".join(api.run_messages(pause_run["runId"]))
            assert "schedule stats_reconciliation_schedule: stopped" in paused, paused
            page.goto(f"{base}/automation")
            expect(page.get_by_text("stats_reconciliation_schedule").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "8-paused-automation.png"), full_page=True)
            refused = api.launch_run(JOB, {"dagster/partition": key}, {})
            refused_run = api.wait_run_finished(refused, timeout_seconds=180)
            assert refused_run["status"] == "CANCELED"  # a refusal is not a failure: no alert, nothing painted
            errors = api.run_errors(refused)
            assert any("processing is paused" in m for m in errors), errors
            page.goto(f"{base}/runs/{refused}")
            expect(page.get_by_text("processing is paused", exact=False).first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "9-run-refused-while-paused.png"))
            resumed = campaign_ops_cli(env, "resume")
            assert "schedule stats_reconciliation_schedule: started" in resumed, resumed
            # no quarter-hour sweep, and no run for due leads, before Ctrl-C below
            api.stop_schedule("de_enrollment_sweep_schedule")
            api.stop_sensor("de_enrollment_due_sensor")
        finally:
            browser.close()


def campaign_ops_cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "campaign-ops"), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def scalar_text(engine: Engine, sql: str, **params: object) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text(sql), params).scalar_one())


# --- 6. Ctrl-C -----------------------------------------------------------------------------------------------


def step_ctrl_c_stops_everything(service: RunningService, engine: Engine) -> None:
    """SIGINT (Ctrl-C) to `campaign-ops dev`: it exits 0, every process it started is gone, and no session of
    theirs is left on either database."""
    service.remember_pids()
    assert len(service.seen_pids) >= 3
    started = time.monotonic()
    service.process.send_signal(signal.SIGINT)
    assert service.process.wait(timeout=90) == 0, service.output()[-2000:]
    assert time.monotonic() - started < 60
    assert "stopped" in service.output()
    alive = [pid for pid in service.seen_pids if psutil.pid_exists(pid) and not is_zombie(pid)]
    assert alive == [], f"still running after Ctrl-C: {alive}"
    for url in (service.app_url, service.instance_url):
        database = make_url(url).database  # embedded-server URLs carry ?host=<socket dir>
        sessions = wait_for(
            f"no session left on {database}",
            lambda db=database: (
                scalar(
                    engine,
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()",
                    db=db,
                )
                == 0
            ),
            timeout_seconds=30,
        )
        assert sessions


# --- helpers -------------------------------------------------------------------------------------------------


def scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def scalar_list(engine: Engine, sql: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(text(sql)).scalars())


def active_clients(engine: Engine) -> list[str]:
    return scalar_list(engine, "SELECT id::text FROM clients WHERE is_active")


def stuck_leads(engine: Engine, only: str | None = None, exclude: str | None = None) -> int:
    sql = SOP_STUCK_LEADS.strip().rstrip(";")
    if only:
        sql += " AND l.client_id = CAST(:client AS uuid)"
    if exclude:
        sql += " AND l.client_id <> CAST(:client AS uuid)"
    return scalar(engine, sql, client=only or exclude)


def advisory_locks(engine: Engine) -> int:
    """Advisory locks held on this test's database (pg_locks is server-wide; other tests may hold their own)."""
    return scalar(
        engine,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )


def is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
