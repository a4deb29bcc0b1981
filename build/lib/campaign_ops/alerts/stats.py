"""`alerts stats`: the hardening report's alert statistics and its reading of them ("Monitoring in Production")."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from campaign_ops.errors import ConfigError
from campaign_ops.sqlfiles import load_sql

HIGH_SEVERITIES = {"HIGH", "ERROR", "CRITICAL"}
MEDIUM_SEVERITIES = {"MEDIUM", "WARN"}


@dataclass
class AlertStats:
    hours: int
    alerts: int = 0  # firing, reminder and escalation messages that reached a channel (sent or logged)
    resolved: int = 0
    failed: int = 0
    silenced: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    unique_resources: int = 0
    repeated_keys: dict[str, int] = field(default_factory=dict)  # same alert key delivered more than twice
    reading: str = "healthy"
    reasons: list[str] = field(default_factory=list)

    @property
    def per_day(self) -> float:
        return self.alerts * 24 / self.hours

    @property
    def high(self) -> int:
        return sum(n for s, n in self.by_severity.items() if s in HIGH_SEVERITIES)

    @property
    def high_per_week(self) -> float:
        return self.high * 168 / self.hours

    def as_json(self) -> dict[str, Any]:
        return {
            "hours": self.hours,
            "alerts": self.alerts,
            "perDay": round(self.per_day, 2),
            "resolved": self.resolved,
            "failed": self.failed,
            "silenced": self.silenced,
            "byType": self.by_type,
            "bySeverity": self.by_severity,
            "uniqueResources": self.unique_resources,
            "repeatedKeys": self.repeated_keys,
            "reading": self.reading,
            "reasons": self.reasons,
        }


def alert_stats(conn: Connection, *, hours: int, now: datetime) -> AlertStats:
    """Figures over the last `hours`, and the hardening report's reading:
    healthy (0-2 alerts/day, mostly MEDIUM, HIGH under one
    a week), unhealthy (more than 5 a day, frequent HIGH, the same alert repeating), else 'watch'."""
    if hours <= 0:
        raise ConfigError(f"--hours must be positive, got {hours}")
    stats = AlertStats(hours=hours)
    rows = conn.execute(load_sql(__file__, "stats.sql"), {"now": now, "hours": hours}).mappings().all()
    reached = [r for r in rows if r["kind"] != "resolved" and r["status"] in ("sent", "logged")]
    stats.alerts = len(reached)
    stats.resolved = sum(1 for r in rows if r["kind"] == "resolved" and r["status"] in ("sent", "logged"))
    stats.failed = sum(1 for r in rows if r["status"] == "failed")
    stats.silenced = sum(1 for r in rows if r["status"] == "silenced")
    stats.by_type = dict(Counter(r["alert_type"] for r in reached).most_common())
    stats.by_severity = dict(Counter(r["severity"] for r in reached).most_common())
    stats.unique_resources = len({r["resource_id"] for r in reached if r["resource_id"]})
    stats.repeated_keys = {k: n for k, n in Counter(r["alert_key"] for r in reached).items() if n > 2}

    unhealthy = []
    if stats.per_day > 5:
        unhealthy.append(f"{stats.per_day:.1f} alerts a day (more than 5)")
    if stats.high_per_week > 7:  # more than one a day
        unhealthy.append(f"frequent HIGH severity ({stats.high} in {hours} h)")
    if stats.repeated_keys:
        unhealthy.append(
            f"the same alert repeating: {', '.join(sorted(stats.repeated_keys))} (is de-duplication working?)"
        )
    medium = sum(n for s, n in stats.by_severity.items() if s in MEDIUM_SEVERITIES)
    if unhealthy:
        stats.reading, stats.reasons = "unhealthy", unhealthy
    elif stats.per_day <= 2 and stats.high_per_week < 1:
        stats.reading = "healthy"
        stats.reasons = [f"{stats.per_day:.1f} alerts a day, {medium} MEDIUM/WARN, {stats.high} HIGH"]
    else:
        stats.reading = "watch"
        stats.reasons = [
            f"{stats.per_day:.1f} alerts a day, {stats.high} HIGH in {hours} h: between healthy and unhealthy"
        ]
    return stats
