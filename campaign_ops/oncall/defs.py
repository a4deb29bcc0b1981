"""The alert pipeline's own sensor: `alert_pipeline_sensor`, every few minutes — the heartbeat, the check of the
pipeline itself, and the root-cause alerts (database unreachable, processing paused). campaign_ops.oncall.core
says what each is."""

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

import dagster as dg
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.alerts.defs import SlackAlertResource, alert_tick_result, build_alert_sensors
from campaign_ops.alerts.dispatch import dispatch
from campaign_ops.alerts.model import (
    Alert,
    LogSink,
    MessageItem,
    MessageKind,
    Notifier,
    OutgoingMessage,
    Resolution,
    utc_now,
)
from campaign_ops.critical_alerts.defs import build_critical_alert_sensor
from campaign_ops.errors import CampaignOpsError, error_line, mask_secrets
from campaign_ops.oncall.core import (
    PAUSED_KEY,
    PIPELINE_KEY,
    database_alert,
    paused_alert,
    ping,
    pipeline_alert,
    pipeline_health,
)
from campaign_ops.pause.core import current_pause
from campaign_ops.resources import DatabaseResource

HEARTBEAT_INTERVAL_SECONDS = 180


def watched_sensors() -> dict[str, int]:
    """The alert sensors the heartbeat vouches for, with their intervals (read from their definitions)."""
    sensors = [*build_alert_sensors(), build_critical_alert_sensor()]
    return {s.name: s.minimum_interval_seconds or 30 for s in sensors}


@dataclass
class HeartbeatCursor:
    watching_since: str
    database_down_since: str | None = None
    database_told_at: str | None = None

    @classmethod
    def parse(cls, raw: str | None, now: datetime) -> "HeartbeatCursor":
        return cls(**json.loads(raw)) if raw else cls(watching_since=now.isoformat())

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _tell(channels: Sequence[Notifier], kind: MessageKind, alert: Alert, log: LogSink) -> int:
    """Deliver straight to every channel, with no database to record in: how many channels took it."""
    message = OutgoingMessage(kind, alert.severity, (MessageItem(alert),))
    delivered = 0
    for channel in channels:
        try:
            result = channel.deliver(message)
        except Exception as exc:  # a notifier must not raise; the tick must survive one that does
            log.error(f"{alert.alert_type} not delivered on {channel.channel}: {mask_secrets(repr(exc))}")
            continue
        if result.status in ("sent", "logged"):
            delivered += 1
        else:
            log.error(f"{alert.alert_type} not delivered on {channel.channel}: {result.error}")
    return delivered


def heartbeat_tick(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    slack_alerts: SlackAlertResource,
    now: datetime,
    watched: dict[str, int],
) -> dg.SensorResult:
    cursor = HeartbeatCursor.parse(context.cursor, now)
    notifier = slack_alerts.notifier(context.log)
    pagers = slack_alerts.pagers()
    settings = slack_alerts.settings()
    channels = [notifier, *pagers]
    try:
        with database.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            if cursor.database_down_since is not None:
                # the root cause is over: say so where it was said, and the held alerts come back on their own
                if cursor.database_told_at is not None:
                    _tell(channels, MessageKind.RESOLVED, database_alert("it is reachable again"), context.log)
                cursor.database_down_since = cursor.database_told_at = None
            ui = slack_alerts.ui_url()
            paused = current_pause(conn)
            health = pipeline_health(conn, now, watched, datetime.fromisoformat(cursor.watching_since))
            firing: list[Alert] = []
            ended: list[Resolution] = []
            if paused is not None:
                firing.append(paused_alert(paused.line(), ui))
            else:
                ended.append(Resolution("PROCESSING_PAUSED", PAUSED_KEY, note="processing resumed"))
            if health.healthy:
                ended.append(Resolution("ALERT_PIPELINE", PIPELINE_KEY, note="every alert sensor ticks, nothing stuck"))
            else:
                firing.append(pipeline_alert(health, ui))
            report = dispatch(
                conn,
                firing=firing,
                resolutions=ended,
                now=now,
                notifier=notifier,
                pagers=pagers,
                settings=settings,
                log=context.log,
                retry_due=False,
            )
    except (CampaignOpsError, SQLAlchemyError) as exc:
        error = error_line(exc)
        cursor.database_down_since = cursor.database_down_since or now.isoformat()
        told = datetime.fromisoformat(cursor.database_told_at) if cursor.database_told_at else None
        if told is None or now - told >= settings.suppression:
            alert = database_alert(error)
            if _tell(channels, MessageKind.FIRING if told is None else MessageKind.REMINDER, alert, context.log):
                cursor.database_told_at = now.isoformat()
        context.log.error(f"alert pipeline: database unreachable ({error}); no heartbeat")
        return dg.SensorResult(skip_reason=f"database unreachable: {error}; no heartbeat", cursor=cursor.dump())

    url = slack_alerts.heartbeat()
    if not health.healthy:
        context.log.error(f"alert pipeline unhealthy, no heartbeat: {'; '.join(health.problems)}")
        beat = "no heartbeat (unhealthy)"
    elif url is None:
        beat = "healthy (no ALERT_HEARTBEAT_URL to ping)"
    else:
        failure = ping(url, slack_alerts.timeout_seconds)
        beat = "healthy, heartbeat sent" if failure is None else f"healthy, {failure}"
        if failure:
            context.log.warning(failure)
    return alert_tick_result(context, report, cursor.dump(), beat)


def build_heartbeat_sensor(clock: Callable[[], datetime] = utc_now) -> dg.SensorDefinition:
    watched = watched_sensors()

    @dg.sensor(
        name="alert_pipeline_sensor",
        minimum_interval_seconds=HEARTBEAT_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="The alerts watching themselves: pings ALERT_HEARTBEAT_URL while every alert sensor ticks and "
        "nothing is stuck in retry, else ALERT_PIPELINE (pages); one root-cause alert while the database is "
        "unreachable (DATABASE_UNREACHABLE) or processing is paused (PROCESSING_PAUSED).",
    )
    def alert_pipeline_sensor(
        context: dg.SensorEvaluationContext, database: DatabaseResource, slack_alerts: SlackAlertResource
    ) -> dg.SensorResult:
        return heartbeat_tick(context, database, slack_alerts, clock(), watched)

    return alert_pipeline_sensor


alert_pipeline_sensor = build_heartbeat_sensor()

defs = dg.Definitions(sensors=[alert_pipeline_sensor])
