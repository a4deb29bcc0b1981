"""deploy/ on containers: the image from deploy/Dockerfile; PostgreSQL, the code server, the daemon and the
webserver each in its own container on an internal network (own addresses, no published ports); a de-enrollment
run launched through the webserver's GraphQL; the code-server container killed in the middle of a run; SIGTERM.

Run by `make test-deploy` (CI, after the suite); `make test` leaves these out (marker `deploy`). The steps share
one layout and run in this file's order: starting it costs a minute of a 2-core machine.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml
from sqlalchemy import text

from bench import containers as c
from bench.containers import CODE_SERVER_IP, CODE_SERVER_PORT, listening, wait_listening
from bench.sop_queries import SOP_DUPLICATES, SOP_STATS_DRIFT
from campaign_ops.clients.partition_keys import client_id_of, client_ids_of
from campaign_ops.service.dagster_api import metadata_value, wait_for
from campaign_ops.service.environment import INSTANCE_YAML
from campaign_ops_tests.deploy.conftest import Deployment
from campaign_ops_tests.e2e.test_service import JOB, advisory_locks, retry_of, scalar, stuck_leads

pytestmark = pytest.mark.deploy

DAGSTER_YAML = yaml.safe_load(INSTANCE_YAML.read_text())
# what dagster.yaml promises for a run whose worker died with its code server: nobody sees it die, run monitoring
# ends it within a poll interval of its maximum runtime, and the run-retry daemon re-launches it
MONITORING_POLL_SECONDS = DAGSTER_YAML["run_monitoring"]["poll_interval_seconds"]
# the killed run's maximum runtime, shortened for the test (the retry inherits it: the rest must fit in it)
KILLED_RUN_MAX_RUNTIME_SECONDS = 30
# one monitoring pass itself (reading runs, terminating through the code server) on a loaded 2-core machine
MONITORING_PASS_SLACK_SECONDS = 20
# small commits, so the run is still at work when the test holds it
KILLED_RUN_CHUNK_SIZE = 20
STOPPED_RUN_CHUNK_SIZE = 2
# the queue daemon's line when a run it dequeues cannot reach its code server and goes back in the queue
REQUEUED = "Run dequeue failed to reach the user code server, re-submitting the run into the queue"


# the leads of a client that the de-enrollment rule says are due (the rule's one SQL function)
DUE = """SELECT count(*) FROM leads l JOIN campaigns c ON c.id = l.campaign_link_id
JOIN clients cl ON cl.id = c.client_id WHERE cl.is_active AND l.client_id = CAST(:c AS uuid) AND de_enrollment_lead_due(
    l.is_active, l.completed_at, l.opted_out, l.booked_meeting, l.current_message_position, c.messages) IS TRUE"""


def due_leads(d: Deployment, client: str) -> int:
    return scalar(d.app, DUE, c=client)


def partition_keys(d: Deployment) -> list[str]:
    """The daemon's first clients_partition_sync_sensor tick turns the active clients into partitions."""
    with d.app.connect() as conn:
        active = sorted(conn.execute(text("SELECT id::text FROM clients WHERE is_active")).scalars())

    def synced() -> list[str] | None:
        keys = d.api.job_partition_keys(JOB)
        return keys if sorted(client_ids_of(keys)) == active else None

    return wait_for("the clients' partitions", synced, timeout_seconds=180, interval=2)


def test_a_run_launched_through_graphql_de_enrolls_what_was_due(deployment: Deployment) -> None:
    d = deployment
    key = partition_keys(d)[0]
    client = client_id_of(key)
    due = due_leads(d, client)
    others_stuck = stuck_leads(d.app, exclude=client)
    assert due > 0 and others_stuck > 0

    run_id = d.api.launch_run(JOB, tags={"dagster/partition": key}, run_config={})
    run = d.api.wait_run_finished(run_id, timeout_seconds=240)
    assert run["status"] == "SUCCESS", d.api.run_messages(run_id)[-20:]

    logged = scalar(d.app, "SELECT count(*) FROM de_enrollment_lead_log WHERE client_id = :c", c=client)
    assert logged == due
    assert due_leads(d, client) == 0
    assert stuck_leads(d.app, exclude=client) == others_stuck  # the other client was not touched
    leads = [m for m in run["assetMaterializations"] if m["assetKey"]["path"] == ["leads"]]
    assert [m["partition"] for m in leads] == [key]
    assert metadata_value(leads[0], "leads_de_enrolled") == due
    assert metadata_value(leads[0], "status") == "success"
    print(f"\nrun {run_id}: SUCCESS, {due} leads de-enrolled of {due} due")


def test_a_run_killed_with_its_code_server_is_ended_and_retried(deployment: Deployment) -> None:
    d = deployment
    key = partition_keys(d)[-1]
    client = client_id_of(key)
    due = due_leads(d, client)
    assert due > 0
    run_id = d.api.launch_run(
        JOB,
        tags={"dagster/partition": key, "dagster/max_runtime": str(KILLED_RUN_MAX_RUNTIME_SECONDS)},
        run_config={"ops": {"de_enrollment": {"config": {"chunk_size": KILLED_RUN_CHUNK_SIZE}}}},
    )
    with held_in_the_middle_of_work(d, run_id, client, due):
        c.podman("kill", "--signal", "KILL", d.code_server)
    # the supervisor's part (systemd's Restart=, Compose's restart:, a Kubernetes Deployment): start it again
    c.podman("start", d.code_server)
    wait_listening(CODE_SERVER_IP, CODE_SERVER_PORT)
    assert d.api.run(run_id)["status"] == "STARTED"  # its worker died with the container: nobody noticed

    ended = d.api.wait_run_finished(run_id, timeout_seconds=KILLED_RUN_MAX_RUNTIME_SECONDS + 180)
    assert ended["status"] == "FAILURE"
    assert any("maximum runtime" in m for m in d.api.run_messages(run_id))
    over = ended["endTime"] - ended["startTime"] - KILLED_RUN_MAX_RUNTIME_SECONDS
    print(f"\nrun {run_id}: ended by run monitoring {over:.0f} s after its maximum runtime")
    assert over <= MONITORING_POLL_SECONDS + MONITORING_PASS_SLACK_SECONDS

    retry = wait_for("the daemon's retry of the killed run", lambda: retry_of(d.api, run_id), 180, interval=2)
    assert retry["tags"]["dagster/retry_number"] == "1"
    finished = d.api.wait_run_finished(retry["runId"], timeout_seconds=180)
    assert finished["status"] == "SUCCESS", d.api.run_messages(retry["runId"])[-20:]

    # every lead that was due de-enrolled exactly once: nothing half-applied, nothing twice
    assert scalar(d.app, "SELECT count(*) FROM de_enrollment_lead_log WHERE client_id = :c", c=client) == due
    assert due_leads(d, client) == 0
    assert stuck_leads(d.app, only=client) == 0
    with d.app.connect() as conn:
        assert conn.exec_driver_sql(SOP_STATS_DRIFT).all() == []
        assert conn.exec_driver_sql(SOP_DUPLICATES).all() == []
    # the killed pass's row was closed by the retry's pass, none is left 'running'
    assert scalar(d.app, "SELECT count(*) FROM de_enrollment_runs WHERE status = 'running'") == 0
    assert scalar(d.app, "SELECT count(*) FROM de_enrollment_runs WHERE error_details LIKE 'abandoned%'") == 1
    assert advisory_locks(d.app) == 0


@contextmanager
def held_in_the_middle_of_work(d: Deployment, run_id: str, client: str, due: int) -> Iterator[None]:
    """Hold the run in the middle of its work (some leads committed, not all) until the caller has killed it: the
    test takes the row locks of every campaign, which the run's next commit waits for."""
    logged = "SELECT count(*) FROM de_enrollment_lead_log l JOIN de_enrollment_runs r ON r.id = l.run_id "
    logged += "WHERE r.dagster_run_id = :run_id"
    wait_for("the run to commit some leads", lambda: scalar(d.app, logged, run_id=run_id) >= 100, 300, 0.1)
    with d.app.connect() as conn, conn.begin():
        # in id order, as the run locks them: neither can hold one the other waits for while waiting itself
        conn.execute(text("SELECT 1 FROM campaigns ORDER BY id FOR UPDATE"))
        done = scalar(d.app, "SELECT count(*) FROM de_enrollment_lead_log WHERE client_id = :c", c=client)
        assert done < due, "nothing was left to do"
        status = d.api.run(run_id)["status"]
        assert status == "STARTED", f"the run is {status}, not in the middle of its work"
        yield


def test_sigterm_in_the_middle_of_a_run_ends_the_run_at_once(deployment: Deployment) -> None:
    """A code server stopped (a release, a reboot) while a run works. Its command alone, as PID 1, waits for the
    run worker it spawned to finish (16 s here, minutes for a real sweep): past the grace period the container is
    SIGKILLed with the worker, and the run stays STARTED until its maximum runtime. With the image's init, SIGTERM
    reaches the run worker too, which records the run as failed, and the container is gone within seconds.
    A run queued meanwhile is dequeued while the code server is down: it goes back in the queue (dagster.yaml's
    max_user_code_failure_retries) and launches once the code server is back. The daemon's automatic retry of the
    stopped run is built from the code location: made before the daemon saw the code server go, it waits in the
    queue likewise; made after, it fails to be made at all (Dagster's "Failed to retry run"), and the client's
    leads wait for the next due run or sweep."""
    d = deployment
    key = partition_keys(d)[1]
    client = client_id_of(key)
    due = due_leads(d, client)
    assert due > 0
    # tiny commits: the rest of the work takes longer than the code server's own shutdown (seconds)
    config = {"ops": {"de_enrollment": {"config": {"chunk_size": STOPPED_RUN_CHUNK_SIZE}}}}
    # one run at a time per value of this tag (dagster.yaml's queue limits): the second run waits for the first
    one_at_a_time = {"dagster/partition": key, "dagster/schedule_name": "deploy-test-held"}
    run_id = d.api.launch_run(JOB, tags=one_at_a_time, run_config=config)
    with held_in_the_middle_of_work(d, run_id, client, due):
        queued = d.api.launch_run(JOB, tags=one_at_a_time, run_config={})
        c.podman("kill", "--signal", "TERM", d.code_server)
        signalled_at = time.monotonic()
    exit_code = int(c.podman("wait", d.code_server, timeout=c.STOP_GRACE_SECONDS + 60).stdout.strip())
    stopped_after = time.monotonic() - signalled_at
    print(f"\ncode server stopped {stopped_after:.1f} s after SIGTERM in the middle of a run (exit {exit_code})")
    assert stopped_after < c.STOP_GRACE_SECONDS
    # the de-enrollment job's maximum runtime is minutes: a run left STARTED is not ended within this minute
    ended = d.api.wait_run_finished(run_id, timeout_seconds=60)
    assert ended["status"] == "FAILURE"
    left = due_leads(d, client)
    print(f"run {run_id}: FAILURE {time.monotonic() - signalled_at:.1f} s after SIGTERM, {left} of {due} leads left")
    assert left > 0  # stopped half-way

    # the queued run, free to go now, is dequeued while the code server is down: back in the queue, not failed
    try:
        wait_for(
            "the queued run to be dequeued while the code server is down, and queued again",
            lambda: any(REQUEUED in m for m in d.api.run_messages(queued)),
            120,
            interval=1,
        )
    except AssertionError as timed_out:
        status, messages = d.api.run(queued)["status"], d.api.run_messages(queued)
        raise AssertionError(f"{timed_out}; the queued run is {status}, its last messages: {messages[-4:]}") from None
    # queued, or being dequeued again (STARTING until the launch fails and puts it back)
    assert d.api.run(queued)["status"] in {"QUEUED", "STARTING"}
    assert not listening(CODE_SERVER_IP, CODE_SERVER_PORT)

    c.podman("start", d.code_server)
    back_at = time.monotonic()
    wait_listening(CODE_SERVER_IP, CODE_SERVER_PORT)
    finished = d.api.wait_run_finished(queued, timeout_seconds=240)
    assert finished["status"] == "SUCCESS", d.api.run_messages(queued)[-20:]
    print(f"queued run {queued}: SUCCESS {time.monotonic() - back_at:.1f} s after the code server was started again")
    # the daemon's own retry of the stopped run, if it could make one (below), ends too
    wait_for("the daemon's retries to end", lambda: all_finished(d, run_id), 240, interval=2)
    assert due_leads(d, client) == 0
    assert scalar(d.app, "SELECT count(*) FROM de_enrollment_lead_log WHERE client_id = :c", c=client) == due
    assert scalar(d.app, "SELECT count(*) FROM de_enrollment_runs WHERE status = 'running'") == 0


def all_finished(d: Deployment, run_id: str) -> bool:
    """No run of the retry chain that starts at `run_id` is still queued or running."""
    chain = [r for r in d.api.runs(JOB) if r["tags"].get("dagster/root_run_id") == run_id]
    return all(r["status"] in {"SUCCESS", "FAILURE", "CANCELED"} for r in chain)


def test_sigterm_stops_every_container_within_its_grace_period(deployment: Deployment) -> None:
    d = deployment
    assert listening(CODE_SERVER_IP, CODE_SERVER_PORT)
    stopped = {name: d.layout.stop(name) for name in (d.webserver, d.daemon, d.code_server, d.database)}
    for name, (seconds, exit_code) in stopped.items():
        print(f"{name}: stopped after {seconds:.1f} s, exit code {exit_code}")
    slow = {name: s for name, s in stopped.items() if s[0] >= c.STOP_GRACE_SECONDS or s[1] == 137}
    assert slow == {}, f"killed at the end of the {c.STOP_GRACE_SECONDS} s grace period: {slow}"
