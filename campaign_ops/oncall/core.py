"""What on-call people expect of an alerter beyond its alerts: that it says when it is itself broken, and that one
root cause is one message.

- **Tick records**: every alert sensor records its completed tick (alert_sensor_ticks, `campaign_ops.alerts.dispatch`).
- **Pipeline health**: each alert sensor ticked within a few of its intervals, and no message is stuck in retry
  on any channel. Unhealthy is an ALERT_PIPELINE alert (CRITICAL: it pages), and the heartbeat stops.
- **Heartbeat**: while healthy, a GET to ALERT_HEARTBEAT_URL every few minutes — a dead man's switch: an external
  monitor pages when the pings stop (the daemon down, the database down, the alerts broken).
- **Inhibition**: while processing is paused, the alerts that follow from the pause are held and one
  PROCESSING_PAUSED alert says why; while the database is unreachable no alert about the data can be raised and
  one DATABASE_UNREACHABLE alert is sent, straight to the channels (campaign_ops.oncall.defs).
"""

import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from campaign_ops import thresholds
from campaign_ops.alerts.model import Alert
from campaign_ops.alerts.policy import HELD_WHEN_PAUSED
from campaign_ops.alerts.rendering import format_duration, format_utc
from campaign_ops.errors import mask_secrets
from campaign_ops.sqlfiles import load_sql

PIPELINE_KEY = "alert_pipeline"
PAUSED_KEY = "processing_paused"
DATABASE_KEY = "database_unreachable"


@dataclass(frozen=True)
class PipelineHealth:
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


def stale_after(interval_seconds: int) -> timedelta:
    """A sensor is late after this many of its intervals, plus two minutes for a slow daemon loop."""
    return timedelta(seconds=thresholds.ALERT_SENSOR_STALE_INTERVALS * interval_seconds + 120)


def pipeline_health(
    conn: Connection, now: datetime, watched: Mapping[str, int], watching_since: datetime
) -> PipelineHealth:
    """Each watched alert sensor (name → interval in seconds) ticked lately, and nothing is stuck in retry. A sensor
    that never recorded a tick is late only once the heartbeat itself has watched long enough to expect one."""
    rows = conn.execute(
        load_sql(__file__, "pipeline_health.sql"),
        {
            "now": now,
            "max_attempts": thresholds.ALERT_RETRY_STUCK_ATTEMPTS,
            "overdue_minutes": thresholds.ALERT_RETRY_OVERDUE_MINUTES,
        },
    ).mappings()
    ticks: dict[str, datetime] = {}
    problems: list[str] = []
    for row in rows:
        if row["kind"] == "tick":
            ticks[row["name"]] = row["at"]
        else:
            channel = "Slack" if row["name"] == "main" else row["name"]
            problems.append(f"{row['n']} message(s) stuck in retry on {channel} (due since {format_utc(row['at'])})")
    for name, interval in sorted(watched.items()):
        late = stale_after(interval)
        last = ticks.get(name)
        if last is None:
            if now - watching_since > late:
                problems.append(f"{name} has not ticked (watched for {format_duration(now - watching_since)})")
        elif now - last > late:
            problems.append(f"{name} last ticked {format_duration(now - last)} ago, at {format_utc(last)}")
    return PipelineHealth(problems)


def pipeline_alert(health: PipelineHealth, ui_url: str) -> Alert:
    return Alert(
        alert_type="ALERT_PIPELINE",
        key=PIPELINE_KEY,
        severity="CRITICAL",
        title="Alerting is broken: alerts may not arrive",
        summary="; ".join(health.problems),
        facts=tuple(("Problem", p) for p in health.problems[:5]),
        link=f"{ui_url}/overview/automation",
        link_label="Open the sensors in Dagster",
    )


def paused_alert(line: str, ui_url: str) -> Alert:
    return Alert(
        alert_type="PROCESSING_PAUSED",
        key=PAUSED_KEY,
        severity="WARN",
        title="Processing is paused: de-enrollment and its alerts are held",
        summary=f"{line}. Held until it resumes: {', '.join(sorted(HELD_WHEN_PAUSED))}. "
        "Resume with `campaign-ops resume`.",
        facts=(("Pause", line),),
        link=f"{ui_url}/overview/automation",
        link_label="Open the automations in Dagster",
    )


def database_alert(error: str) -> Alert:
    return Alert(
        alert_type="DATABASE_UNREACHABLE",
        key=DATABASE_KEY,
        severity="CRITICAL",
        title="The application database is unreachable",
        summary=f"{error}. No alert about the data can be raised until it is back; the alert sensors fail meanwhile.",
        facts=(("Error", error),),
    )


def ping(url: str, timeout_seconds: float) -> str | None:
    """GET the heartbeat URL: None when it answered 2xx, else the reason (masked: the URL may carry a token)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=timeout_seconds) as response:
            if 200 <= response.status < 300:
                return None
            return f"heartbeat answered HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"heartbeat answered HTTP {exc.code}"
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        return mask_secrets(f"heartbeat not delivered: {reason}", (url,))
