"""The critical alert sensor (the hardening report's conditions no asset check detects),
every 5 minutes, through the one alert
pipeline."""

from collections.abc import Callable
from datetime import datetime

import dagster as dg

from campaign_ops.alerts.defs import SlackAlertResource, alert_tick_result, dispatch_in_tick
from campaign_ops.alerts.model import utc_now
from campaign_ops.critical_alerts.core import CriticalSettings, find_critical_alerts, resolve_scopes
from campaign_ops.resources import DatabaseResource


def critical_alerts_tick(
    context: dg.SensorEvaluationContext, database: DatabaseResource, slack_alerts: SlackAlertResource, now: datetime
) -> dg.SensorResult:
    with database.connect() as conn:
        firing = find_critical_alerts(conn, now, CriticalSettings(), slack_alerts.ui_url())
        conn.commit()
        report = dispatch_in_tick(context, conn, slack_alerts, now, firing=firing, resolve_scopes=resolve_scopes())
    return alert_tick_result(context, report, None, f"{len(firing)} critical condition(s)")


def build_critical_alert_sensor(clock: Callable[[], datetime] = utc_now) -> dg.SensorDefinition:
    @dg.sensor(
        name="critical_alert_sensor",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Seed 004's critical alerts no asset check detects: POOL_EMPTY, REPEATED_FAILURE, "
        "INVARIANT_VIOLATION (a completed lead still active) — aggregated per kind, de-duplicated, silenceable. "
        "STUCK_CLIENT, PAYMENT_BLOCK and the schema contract come from their checks (asset_check_alert_sensor).",
    )
    def critical_alert_sensor(
        context: dg.SensorEvaluationContext, database: DatabaseResource, slack_alerts: SlackAlertResource
    ) -> dg.SensorResult:
        return critical_alerts_tick(context, database, slack_alerts, clock())

    return critical_alert_sensor


critical_alert_sensor = build_critical_alert_sensor()

defs = dg.Definitions(sensors=[critical_alert_sensor])
