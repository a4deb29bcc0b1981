"""Event-driven de-enrollment in Dagster: `de_enrollment_due_sensor` and the latency check.

The sensor ticks every few seconds. It reads which active clients have due leads from the trigger-kept queue
(sql/objects/de_enrollment_mark_due.sql: a query over the queue, not the leads) and launches ONE
`de_enrollment_sweep_job` run scoped to exactly
those clients (run config `client_ids`). At most one such run is queued or running at a time: while it is, the
sensor skips and the leads that become due meanwhile wait for the next run. The run key names the window since the
previous due run ("after <its run id>"), so a tick evaluated twice never launches twice, and a slow run is never
doubled. The 15-minute schedule stays as the safety net (it covers every client, and settles the whole queue); the
per-client advisory lock keeps the two from working on one client at once. A client whose newest passes failed
or were skipped (its lock held by another session) is left out of the sensor's runs for a delay growing with each
such pass (`backing_off` in due.py); the tick says which clients back off, why and until when, and the other
clients' runs go on.

Where each run is a pod (Kubernetes), `DE_ENROLLMENT_DUE_RUN_SPACING` (seconds, default 0) spaces the due runs'
launches: a tick within that many seconds of the newest due run's creation skips, so steady load launches one run
per spacing and each run takes every client that became due meanwhile.

The sensor writes no data itself but launches runs that do: it carries the `campaign_ops/writes` tag, so
`campaign-ops pause` stops it with the schedules, and it skips while processing is paused.

`de_enrollment_latency_p95` on the `de_enrollment_latency` asset: WARN when the p95 of due -> de-enrolled over the
last hour exceeds 2 minutes, naming the slowest clients; the asset_check_alert_sensor alerts on it like on every
failed check. Its job runs every 15 minutes.
"""

import os
import time
from collections.abc import Sequence
from datetime import UTC

import dagster as dg
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops import thresholds as sop
from campaign_ops.check_kit.dagster_jobs import check_job, check_sensor
from campaign_ops.check_kit.dagster_result import could_not_run
from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.check_kit.snapshot import DEFAULT_STATEMENT_TIMEOUT_MS, read_only_snapshot
from campaign_ops.clients.partition_keys import client_names, client_run_tags
from campaign_ops.clients.tags import CLIENTS_TAG, NAMED_IN_TAG, SWEEP_TAG, names_tag_value
from campaign_ops.de_enrollment.defs import (
    SWEEP_JOB_NAME,
    SWEEP_OP_NAME,
    de_enrollment_latency_asset,
    figures_metadata,
    max_runtime_seconds,
)
from campaign_ops.de_enrollment.due import (
    DUE_CLIENTS,
    Backoff,
    DueClient,
    backing_off,
    database_now,
    due_clients,
    latency,
)
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.errors import ConfigError, DatabaseUnavailableError
from campaign_ops.pause.core import current_pause
from campaign_ops.pause.defs import IN_FLIGHT, WRITES
from campaign_ops.resources import DatabaseResource

DUE_SENSOR_NAME = "de_enrollment_due_sensor"
RUN_KEY_PREFIX = "de_enrollment_due"
DUE_LEADS_TAG = "campaign_ops/due_leads"
BACKING_OFF_TAG = "campaign_ops/backing_off"  # on a due run: how many clients with due leads it left out
# clients named in a tick's line about backing off (the rest counted)
NAMED_BACKING_OFF = 10
SPACING_ENV = "DE_ENROLLMENT_DUE_RUN_SPACING"
# at most a day: a longer spacing is no longer event-driven (the 15-minute schedule covers every client anyway)
MAX_SPACING_SECONDS = 86_400


def due_run_spacing_seconds() -> int:
    """The least number of seconds between two due runs' launches (DE_ENROLLMENT_DUE_RUN_SPACING, default 0)."""
    raw = os.environ.get(SPACING_ENV, "").strip()
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or int(raw) > MAX_SPACING_SECONDS:
        raise ConfigError(
            f"{SPACING_ENV} must be a whole number of seconds from 0 to {MAX_SPACING_SECONDS}, got {raw!r}"
        )
    return int(raw)


def last_due_run(instance: dg.DagsterInstance) -> dg.RunRecord | None:
    """The newest run the due sensor launched (or a retry of one: retries keep the tags)."""
    records = instance.get_run_records(dg.RunsFilter(job_name=SWEEP_JOB_NAME, tags={SWEEP_TAG: DUE_CLIENTS}), limit=1)
    return records[0] if records else None


def too_soon(last: dg.RunRecord | None, spacing_seconds: int, now: float) -> dg.SkipReason | None:
    """The reason to wait while the newest due run was created less than `spacing_seconds` before `now` (epoch s)."""
    if last is None or spacing_seconds <= 0:
        return None
    age = now - last.create_timestamp.timestamp()
    if age >= spacing_seconds:
        return None
    return dg.SkipReason(
        f"run {last.dagster_run.run_id} for clients with due leads was created {age:.0f} s ago: one due run per "
        f"{spacing_seconds} s ({SPACING_ENV}), leads that became due meanwhile go in the next run"
    )


def still_in_flight(last: dg.DagsterRun | None) -> dg.SkipReason | None:
    """One due run at a time: the reason to wait while the newest one is queued or running."""
    if last is None or last.status not in IN_FLIGHT:
        return None
    return dg.SkipReason(
        f"run {last.run_id} for clients with due leads is {last.status.value.lower()}: one at a time, "
        "leads that became due meanwhile go in the next run"
    )


def backoff_line(backoffs: Sequence[Backoff], names: dict[str, str]) -> str:
    """Which clients back off, after how many failures and until when (UTC), the soonest first."""
    shown = ", ".join(
        f"{names.get(b.client_id, '?')} ({b.client_id}): {b.passes_text()}, until "
        f"{b.until.astimezone(UTC).strftime('%H:%M:%S')} UTC"
        for b in backoffs[:NAMED_BACKING_OFF]
    )
    more = f" and {len(backoffs) - NAMED_BACKING_OFF} more" if len(backoffs) > NAMED_BACKING_OFF else ""
    return (
        f"{len(backoffs)} client(s) with due leads backing off after failed or skipped passes: {shown}{more} "
        "(the 15-minute schedule still covers them)"
    )


def due_run_request(
    last: dg.DagsterRun | None,
    due: list[DueClient],
    settings: DeEnrollmentSettings,
    backoffs: Sequence[Backoff] = (),
    names: dict[str, str] | None = None,
) -> dg.RunRequest | dg.SkipReason:
    """The decision of a tick once no due run is in flight, given the newest due run, the clients with due
    leads now and those of them backing off (`names`: company names, for the line and the run's tags)."""
    if not due:
        return dg.SkipReason("no active client has due leads (the due-lead queue holds none the rule still holds for)")
    waiting = {b.client_id for b in backoffs}
    launch = [c for c in due if c.client_id not in waiting]
    if not launch:
        return dg.SkipReason(backoff_line(backoffs, names or {}))
    named = [(names or {}).get(c.client_id) or c.client_id for c in launch]
    # by name from the start (the Runs list shows and filters tags; a run may end before any sensor could add them)
    client_tags = (
        client_run_tags(launch[0].client_id, (names or {}).get(launch[0].client_id)) if len(launch) == 1 else {}
    )
    return dg.RunRequest(
        # the window since the previous due run: evaluated twice, a tick asks for the same run (launched once)
        run_key=f"{RUN_KEY_PREFIX}:after:{last.run_id if last is not None else 'none'}",
        run_config={"ops": {SWEEP_OP_NAME: {"config": {"client_ids": [c.client_id for c in launch]}}}},
        tags={
            SWEEP_TAG: DUE_CLIENTS,
            DUE_LEADS_TAG: str(sum(c.due for c in launch)),
            dg.MAX_RUNTIME_SECONDS_TAG: str(max_runtime_seconds(settings.max_runtime_ms, len(launch))),
            **({BACKING_OFF_TAG: str(len(waiting))} if waiting else {}),
            CLIENTS_TAG: names_tag_value(named),
            **client_tags,
        },
    )


@dg.sensor(
    name=DUE_SENSOR_NAME,
    # by name: a sensor holding the job object is copied by Dagster 1.13 when it binds the job's resources, and
    # that copy warns about a beta parameter (`owners`) on every CLI command
    job_name=SWEEP_JOB_NAME,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    tags=WRITES,  # `campaign-ops pause` (SOP Level 3) stops it with the schedules
    description="Every few seconds: one de-enrollment run for exactly the clients whose leads became due (opted "
    "out, booked, last message), at most one such run at a time; the 15-minute schedule stays the safety net.",
)
def de_enrollment_due_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.RunRequest | dg.SkipReason:
    record = last_due_run(context.instance)
    last = record.dagster_run if record is not None else None
    # checked first: no query of the app database while a due run works or the spacing is not over
    waiting = still_in_flight(last) or too_soon(record, due_run_spacing_seconds(), time.time())
    if waiting is not None:
        return waiting
    with database.connect() as conn:
        paused = current_pause(conn)
        if paused is not None:
            return dg.SkipReason(f"processing is {paused.line()}")
        due = due_clients(conn)
        backoffs = backing_off(conn, [c.client_id for c in due])
        left_out = {b.client_id for b in backoffs}
        named = [b.client_id for b in backoffs[:NAMED_BACKING_OFF]]
        named += [c.client_id for c in due if c.client_id not in left_out][:NAMED_IN_TAG]
        names = client_names(conn, named)
    request = due_run_request(last, due, DeEnrollmentSettings.from_env(), backoffs, names)
    if isinstance(request, dg.RunRequest):
        launched = set(request.run_config["ops"][SWEEP_OP_NAME]["config"]["client_ids"])
        context.log.info(
            f"{len(launched)} client(s) with {request.tags[DUE_LEADS_TAG]} due lead(s), oldest due since "
            f"{min(c.oldest_due_since for c in due if c.client_id in launched).isoformat(timespec='seconds')}"
        )
        if backoffs:
            context.log.info(backoff_line(backoffs, names))
    return request


# --- the latency check -------------------------------------------------------------------------------------------


class LatencyCheckConfig(dg.Config):
    window_minutes: int = Field(default=60, description="The de-enrollments of this many last minutes.")
    warn_above_p95_seconds: float = Field(
        default=sop.LATENCY_P95_WARN_ABOVE_SECONDS, description="WARN when their p95 is above this."
    )
    statement_timeout_ms: int = Field(
        default=DEFAULT_STATEMENT_TIMEOUT_MS, description="A query running longer is cancelled: the check errors."
    )


# clients named in a failing evaluation's description (all slow ones are in its table)
NAMED_IN_SUMMARY = 10


@dg.asset_check(
    asset=de_enrollment_latency_asset.key,
    name="de_enrollment_latency_p95",
    description="Seconds from a lead becoming due to its de-enrollment, over the last hour: WARN when the p95 is "
    "above 2 minutes (names the clients whose own p95 is).",
)
def de_enrollment_latency_check(
    context: dg.AssetCheckExecutionContext, config: LatencyCheckConfig, database: DatabaseResource
) -> dg.AssetCheckResult:
    limit = config.warn_above_p95_seconds
    try:
        with database.connect() as conn, read_only_snapshot(conn, config.statement_timeout_ms):
            report = latency(conn, database_now(conn, config.window_minutes * 60))
            slow = sorted(((c, f) for c, f in report.per_client.items() if f.p95 > limit), key=lambda cf: -cf[1].p95)
            names = client_names(conn, [c for c, _ in slow])
    except (DatabaseUnavailableError, SQLAlchemyError) as exc:
        return could_not_run(context, exc)
    window = f"the last {config.window_minutes} min"
    if report.overall is None:
        return dg.AssetCheckResult(
            passed=True,
            description=f"no de-enrollment with a known due moment in {window}",
            metadata={"latency_leads": 0},
        )
    overall = report.overall
    rows = [(names.get(c, "?"), c, f.leads, round(f.p50, 1), round(f.p95, 1), round(f.max, 1)) for c, f in slow]
    metadata = {
        **figures_metadata(overall),
        "warn_above_p95_s": limit,
        "slow_clients_count": len(slow),
        "slow_clients": dg.MetadataValue.md(markdown_table(("client", "id", "leads", "p50 s", "p95 s", "max s"), rows)),
    }
    passed = overall.p95 <= limit
    description = (
        f"p95 due -> de-enrolled {overall.p95:.1f} s over {overall.leads} de-enrollments in {window} "
        f"({'within' if passed else 'above'} {limit:.0f} s)"
    )
    if slow:
        named = ", ".join(f"{name} ({c})" for name, c, *_ in rows[:NAMED_IN_SUMMARY])
        more = f" and {len(slow) - NAMED_IN_SUMMARY} more" if len(slow) > NAMED_IN_SUMMARY else ""
        description += f". Clients with p95 above {limit:.0f} s: {named}{more}"
    if not passed:
        description += (
            f". Look at the runs of {SWEEP_JOB_NAME} tagged {SWEEP_TAG}={DUE_CLIENTS} (queued too long? "
            f"clients partial or skipped?) and whether {DUE_SENSOR_NAME} is running"
        )
    (context.log.info if passed else context.log.warning)(description)
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.WARN, description=description, metadata=metadata
    )


de_enrollment_latency_job = check_job(
    "de_enrollment_latency_job",
    [de_enrollment_latency_check],
    "The due -> de-enrolled latency over the last hour (WARN above a 2-minute p95).",
)
de_enrollment_latency_sensor = check_sensor(
    de_enrollment_latency_job,
    [de_enrollment_latency_check],
    900,
    "Every 15 minutes: the p95 of due -> de-enrolled over the last hour.",
)


defs = dg.Definitions(
    assets=[de_enrollment_latency_asset],
    asset_checks=[de_enrollment_latency_check],
    jobs=[de_enrollment_latency_job],
    sensors=[de_enrollment_due_sensor, de_enrollment_latency_sensor],
)
