"""Dagster objects of alerts: the Slack resource and the two alert sensors.

- `run_status_alert_sensor`: each client whose pass failed or was left partial in a run of a campaign-ops job
  (de_enrollment_runs), ended by that client's own later success, and failed runs no client pass explains
  (client, job, error, link to the run), ended by a later success of the same job and scope
  (campaign_ops.alerts.run_alerts).
- `asset_check_alert_sensor`: failed asset checks (open-source Dagster has no alert for them: a failed check does
  not fail its run), one alert per check and client, and one "resolved" message when it passes again. The checks
  are the one detector of each condition, the SOP's health lines included (no success in 2 h, stuck leads above
  100/500: the health, stuck and schema checks run every 5 minutes); campaign_ops.alerts.check_alerts names their
  failures with the SOP's and the hardening report's alert types
(STUCK_LEADS, NO_RECENT_SUCCESS, INVARIANT_VIOLATION, ...).

Both read the instance's event log with a storage-id cursor (campaign_ops.alerts.events) and hand their findings
to `campaign_ops.alerts.dispatch.dispatch`: de-duplication, suppression, escalation, silences, delivery and
retries happen there, once. A tick never raises because of Slack or of one bad event; if the database is down
the tick fails with one clear error and its cursor stays where it was.
"""

from collections.abc import Callable, Sequence
from datetime import datetime

import dagster as dg
from pydantic import Field
from sqlalchemy import Connection

from campaign_ops.alerts.check_alerts import evaluations_alerts
from campaign_ops.alerts.check_evaluation import clients_of
from campaign_ops.alerts.config import SlackConfig, alert_settings_from_env, slack_config_from_env
from campaign_ops.alerts.dispatch import DispatchReport, dispatch
from campaign_ops.alerts.events import (
    EventCursor,
    read_check_evaluations,
    read_run_status_changes,
    run_event,
    runs_by_id,
    same_code_location,
)
from campaign_ops.alerts.model import Alert, LogSink, Notifier, Resolution, ResolveScope, utc_now
from campaign_ops.alerts.notifiers import build_notifier
from campaign_ops.alerts.policy import AlertSettings
from campaign_ops.alerts.run_alerts import TypeKey, put, run_event_alerts
from campaign_ops.alerts.sources import RunPasses, open_alert_keys, run_client_passes
from campaign_ops.clients.partition_keys import client_names
from campaign_ops.errors import mask_secrets
from campaign_ops.resources import DatabaseResource
from campaign_ops.ui_url import dagster_ui_url

Clock = Callable[[], datetime]

SENSOR_INTERVAL_SECONDS = 60


class SlackAlertResource(dg.ConfigurableResource):
    """Where alerts go and the alert policy.

    Fields left unset are read from the environment when a tick runs: ALERT_WEBHOOK_URL (or the SOP's
    DE_ENROLLMENT_ALERT_WEBHOOK), else SLACK_BOT_TOKEN + SLACK_ALERT_CHANNEL, DAGSTER_UI_URL,
    ALERT_SUPPRESSION_HOURS (6), ALERT_ESCALATION_HOURS (12). They are read this way rather than with `dg.EnvVar`
    because an EnvVar cannot be optional (an unset one fails the code location; dagster issue #16232), and with
    nothing configured alerts must still go to the log. Secrets therefore never appear in the resource config the UI
    shows.
    """

    webhook_url: str | None = Field(default=None, description="Incoming webhook URL; default ALERT_WEBHOOK_URL.")
    bot_token: str | None = Field(default=None, description="Bot token for chat.postMessage; default SLACK_BOT_TOKEN.")
    channel: str | None = Field(default=None, description="Channel for chat.postMessage; default SLACK_ALERT_CHANNEL.")
    slack_api_url: str | None = Field(default=None, description="Slack Web API base URL (tests, proxies).")
    dagster_ui_url: str | None = Field(default=None, description="Base of links in messages; default DAGSTER_UI_URL.")
    timeout_seconds: float = Field(default=5.0, description="Per-request timeout towards Slack.")
    suppression_hours: float | None = Field(default=None, description="Same alert not re-sent within (default 6).")
    escalation_hours: float | None = Field(default=None, description="A WARN still failing this long escalates (12).")

    def slack_config(self) -> SlackConfig:
        return slack_config_from_env(
            webhook_url=self.webhook_url,
            bot_token=self.bot_token,
            channel=self.channel,
            api_url=self.slack_api_url,
            timeout_seconds=self.timeout_seconds,
        )

    def notifier(self, log: LogSink | None = None) -> Notifier:
        return build_notifier(self.slack_config(), log)

    def settings(self) -> AlertSettings:
        return alert_settings_from_env(suppression_hours=self.suppression_hours, escalation_hours=self.escalation_hours)

    def ui_url(self) -> str:
        return dagster_ui_url(self.dagster_ui_url)


def run_status_tick(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    slack_alerts: SlackAlertResource,
    now: datetime,
) -> dg.SensorResult:
    cursor = EventCursor.parse(context.cursor, now)
    events = read_run_status_changes(context.instance, cursor)
    run_ids = sorted({r.event_log_entry.run_id for r, _ in events})
    runs = runs_by_id(context.instance, run_ids)
    ui = slack_alerts.ui_url()
    firing: dict[TypeKey, Alert] = {}
    resolutions: dict[TypeKey, Resolution] = {}

    with database.connect() as conn:
        passes = run_client_passes(conn, run_ids)
        for record, event_type in events:
            entry = record.event_log_entry
            try:
                run = runs.get(entry.run_id)
                if run is None or not same_code_location(context, run):
                    continue
                event = run_event(record, event_type, run)
                for value in run_event_alerts(event, passes.get(run.run_id, RunPasses()), ui):
                    put(firing, resolutions, value)
            except Exception as exc:  # one bad record must not stop the tick
                context.log.error(f"run status event {record.storage_id} skipped: {mask_secrets(repr(exc))}")
        if resolutions:
            open_keys = open_alert_keys(conn, sorted({t for t, _ in resolutions}))
            resolutions = {k: v for k, v in resolutions.items() if k in open_keys}

        report = dispatch_in_tick(
            context, conn, slack_alerts, now, firing=list(firing.values()), resolutions=list(resolutions.values())
        )
    return alert_tick_result(context, report, cursor.dump(), f"{len(events)} run event(s)")


def asset_check_tick(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    slack_alerts: SlackAlertResource,
    now: datetime,
) -> dg.SensorResult:
    cursor = EventCursor.parse(context.cursor, now)
    ui = slack_alerts.ui_url()
    read, evaluations = read_check_evaluations(context.instance, cursor, ui, context.log.error)
    with database.connect() as conn:
        names = client_names(conn, clients_of(e for _, e in evaluations))
        firing, resolve_scopes = evaluations_alerts(evaluations, names, ui, context.log.error)
        report = dispatch_in_tick(context, conn, slack_alerts, now, firing=firing, resolve_scopes=resolve_scopes)
    return alert_tick_result(context, report, cursor.dump(), f"{read} check evaluation(s)")


def dispatch_in_tick(
    context: dg.SensorEvaluationContext,
    conn: Connection,
    slack_alerts: SlackAlertResource,
    now: datetime,
    *,
    firing: Sequence[Alert] = (),
    resolutions: Sequence[Resolution] = (),
    resolve_scopes: Sequence[ResolveScope] = (),
) -> DispatchReport:
    """The one way a sensor raises or resolves alerts: the resource's channel and policy, the tick's log.
    Other capabilities' alert sensors (the critical alerts) call this too — there is no second alert path."""
    return dispatch(
        conn,
        firing=firing,
        resolutions=resolutions,
        resolve_scopes=resolve_scopes,
        now=now,
        notifier=slack_alerts.notifier(context.log),
        settings=slack_alerts.settings(),
        log=context.log,
    )


def alert_tick_result(
    context: dg.SensorEvaluationContext, report: DispatchReport, cursor: str | None, read: str
) -> dg.SensorResult:
    """The tick's outcome in one line (the sensor's tick history in the UI) and its new cursor."""
    summary = f"{read}; alerts: {report.summary()}"
    (context.log.warning if report.failed or report.errors else context.log.info)(summary)
    return dg.SensorResult(skip_reason=summary, cursor=cursor)


def build_alert_sensors(clock: Clock = utc_now) -> list[dg.SensorDefinition]:
    """The alert sensors, reading the time from `clock` (tests inject one)."""

    @dg.sensor(
        name="run_status_alert_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Slack alert for each client a campaign-ops run failed or left partial (resolved by that "
        "client's next success), and each failed run no client explains (resolved by a later success).",
    )
    def run_status_alert_sensor(
        context: dg.SensorEvaluationContext, database: DatabaseResource, slack_alerts: SlackAlertResource
    ) -> dg.SensorResult:
        return run_status_tick(context, database, slack_alerts, clock())

    @dg.sensor(
        name="asset_check_alert_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Slack alert for each failed asset check, per client, named by what it found (STUCK_LEADS, "
        "NO_RECENT_SUCCESS, INVARIANT_VIOLATION, STUCK_CLIENT, PAYMENT_BLOCK, else CHECK_FAILED); one message when "
        "it passes again.",
    )
    def asset_check_alert_sensor(
        context: dg.SensorEvaluationContext, database: DatabaseResource, slack_alerts: SlackAlertResource
    ) -> dg.SensorResult:
        return asset_check_tick(context, database, slack_alerts, clock())

    return [run_status_alert_sensor, asset_check_alert_sensor]


run_status_alert_sensor, asset_check_alert_sensor = build_alert_sensors()

defs = dg.Definitions(
    sensors=[run_status_alert_sensor, asset_check_alert_sensor],
    resources={"slack_alerts": SlackAlertResource()},
)
