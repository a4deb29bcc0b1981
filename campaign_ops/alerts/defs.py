"""Dagster objects of alerts: the alert resource (Slack, SMS, PagerDuty), the two alert sensors and
`acknowledge_alert_job`.

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

import os
from collections.abc import Callable, Sequence
from datetime import datetime

import dagster as dg
from pydantic import Field
from sqlalchemy import Connection

from campaign_ops.alerts.acks import acknowledge, tell_pagerduty
from campaign_ops.alerts.check_alerts import evaluations_alerts
from campaign_ops.alerts.check_evaluation import clients_of
from campaign_ops.alerts.config import (
    HEARTBEAT_ENV_VAR,
    PagerDutyConfig,
    SlackConfig,
    TwilioConfig,
    alert_settings_from_env,
    pagerduty_config_from_env,
    slack_config_from_env,
    twilio_config_from_env,
)
from campaign_ops.alerts.dispatch import DispatchReport, dispatch, record_tick
from campaign_ops.alerts.events import (
    EventCursor,
    read_check_evaluations,
    read_run_status_changes,
    run_event,
    runs_by_id,
    same_code_location,
)
from campaign_ops.alerts.model import Alert, LogSink, Notifier, Resolution, ResolveScope, utc_now
from campaign_ops.alerts.notifiers import build_notifier, build_pagers
from campaign_ops.alerts.policy import HELD_WHEN_PAUSED, AlertSettings
from campaign_ops.alerts.run_alerts import TypeKey, put, run_event_alerts
from campaign_ops.alerts.silences import parse_duration
from campaign_ops.alerts.sources import RunPasses, open_alert_keys, run_client_passes
from campaign_ops.clients.partition_keys import client_names
from campaign_ops.errors import mask_secrets
from campaign_ops.pause.core import current_pause
from campaign_ops.resources import DatabaseResource
from campaign_ops.ui_url import dagster_ui_url

Clock = Callable[[], datetime]

SENSOR_INTERVAL_SECONDS = 60


class SlackAlertResource(dg.ConfigurableResource):
    """Where alerts go and the alert policy.

    Fields left unset are read from the environment when a tick runs: ALERT_WEBHOOK_URL (or the SOP's
    DE_ENROLLMENT_ALERT_WEBHOOK), else SLACK_BOT_TOKEN + SLACK_ALERT_CHANNEL, DAGSTER_UI_URL,
    ALERT_SUPPRESSION_HOURS (6), ALERT_ESCALATION_HOURS (12); for the alerts that page, TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN, TWILIO_NUMBER, ADMIN_PHONE, TWILIO_API_URL, PAGERDUTY_ROUTING_KEY, PAGERDUTY_API_URL,
    ALERT_SMS_TYPES, ALERT_ACK_MINUTES (30) and ALERT_HEARTBEAT_URL. They are read this way rather than with `dg.EnvVar`
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
    twilio_account_sid: str | None = Field(default=None, description="Default TWILIO_ACCOUNT_SID.")
    twilio_auth_token: str | None = Field(default=None, description="Default TWILIO_AUTH_TOKEN.")
    twilio_number: str | None = Field(default=None, description="The SMS sender, E.164; default TWILIO_NUMBER.")
    admin_phone: str | None = Field(default=None, description="Who gets SMS, E.164, comma-separated; ADMIN_PHONE.")
    twilio_api_url: str | None = Field(default=None, description="Twilio's API base URL; default TWILIO_API_URL.")
    pagerduty_routing_key: str | None = Field(default=None, description="Default PAGERDUTY_ROUTING_KEY.")
    pagerduty_api_url: str | None = Field(default=None, description="Events API base URL; PAGERDUTY_API_URL.")
    sms_types: str | None = Field(default=None, description="Types that page at ERROR; default ALERT_SMS_TYPES.")
    ack_minutes: float | None = Field(default=None, description="An unacknowledged ERROR pages after (30).")
    heartbeat_url: str | None = Field(default=None, description="Pinged while healthy; ALERT_HEARTBEAT_URL.")

    def heartbeat(self) -> str | None:
        return self.heartbeat_url or os.environ.get(HEARTBEAT_ENV_VAR, "").strip() or None

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

    def twilio_config(self) -> TwilioConfig | None:
        return twilio_config_from_env(
            account_sid=self.twilio_account_sid,
            auth_token=self.twilio_auth_token,
            from_number=self.twilio_number,
            admin_phone=self.admin_phone,
            api_url=self.twilio_api_url,
            timeout_seconds=self.timeout_seconds,
        )

    def pagerduty_config(self) -> PagerDutyConfig | None:
        return pagerduty_config_from_env(
            routing_key=self.pagerduty_routing_key, api_url=self.pagerduty_api_url, timeout_seconds=self.timeout_seconds
        )

    def pagers(self) -> list[Notifier]:
        """The paging channels (SMS, PagerDuty) configured; a wrong configuration fails each delivery, loudly."""
        return build_pagers(self.twilio_config, self.pagerduty_config)

    def settings(self) -> AlertSettings:
        return alert_settings_from_env(
            suppression_hours=self.suppression_hours,
            escalation_hours=self.escalation_hours,
            sms_types=self.sms_types,
            ack_minutes=self.ack_minutes,
        )

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
    """The one way a sensor raises or resolves alerts: the resource's channels and policy, the tick's log.
    Other capabilities' alert sensors (the critical alerts) call this too — there is no second alert path.
    While processing is paused, the alerts that follow from the pause are held (campaign_ops.oncall); the
    completed tick is recorded for the heartbeat's check of the pipeline."""
    report = dispatch(
        conn,
        firing=firing,
        resolutions=resolutions,
        resolve_scopes=resolve_scopes,
        now=now,
        notifier=slack_alerts.notifier(context.log),
        pagers=slack_alerts.pagers(),
        settings=slack_alerts.settings(),
        log=context.log,
        held_types=HELD_WHEN_PAUSED if current_pause(conn) is not None else frozenset(),
    )
    name = sensor_name(context)
    if name is not None:
        record_tick(conn, name, now, report.summary())
    return report


def sensor_name(context: dg.SensorEvaluationContext) -> str | None:
    """The ticking sensor's name (None in a context built without one)."""
    try:
        return context.sensor_name
    except Exception:  # dagster raises a CheckError when the context was built without a name
        return None


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


class AckConfig(dg.Config):
    alert_id: int = Field(description="The alert's # in `campaign-ops alerts list`.")
    by: str = Field(description="Who is on it (shown to the others).")
    duration: str = Field(default="2h", description="How long: 30m, 2h, 1d (at most 30d).")
    reason: str = Field(default="", description="Why, or what you are doing about it.")


@dg.op(name="acknowledge_alert", description="Acknowledge an open alert: no re-send, escalation or page meanwhile.")
def acknowledge_alert_op(
    context: dg.OpExecutionContext, config: AckConfig, database: DatabaseResource, slack_alerts: SlackAlertResource
) -> None:
    with database.connect() as conn:
        ack = acknowledge(
            conn,
            config.alert_id,
            by=config.by,
            duration=parse_duration(config.duration),
            reason=config.reason or None,
            now=utc_now(),
        )
    context.log.info(
        f"alert #{ack.alert_id} {ack.alert_type} {ack.alert_key} acknowledged by {ack.acked_by} until {ack.until}"
    )
    told = tell_pagerduty(ack, slack_alerts.pagerduty_config())
    if told:
        context.log.info(told)


@dg.job(
    name="acknowledge_alert_job",
    executor_def=dg.in_process_executor,
    description="Acknowledge an alert (Launchpad config: alert_id, by, duration, reason). "
    "Same as `campaign-ops alerts ack ID --by NAME --for 2h --reason …`.",
)
def acknowledge_alert_job() -> None:
    acknowledge_alert_op()


run_status_alert_sensor, asset_check_alert_sensor = build_alert_sensors()

defs = dg.Definitions(
    jobs=[acknowledge_alert_job],
    sensors=[run_status_alert_sensor, asset_check_alert_sensor],
    resources={"slack_alerts": SlackAlertResource()},
)
