"""The text of alert messages: the plain text (the log fallback, Slack's notification text), Slack's blocks, the
notes a reminder, an escalation or a resolution adds, and how moments and durations read in them.

Pure functions, no I/O. Texts built from what a run or check reported are masked where they are built (the
rules, through `campaign_ops.errors.mask_secrets`); what is delivered or recorded is masked again with the
channel's own secrets by the dispatch.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from campaign_ops.alerts.model import Alert, MessageKind, OutgoingMessage
from campaign_ops.alerts.policy import AlertSettings

MAX_LIST_ITEMS = 20
"""Alerts listed in one aggregated Slack message; the rest are counted."""

_SEVERITY_EMOJI = {
    "CRITICAL": ":rotating_light:",
    "HIGH": ":red_circle:",
    "ERROR": ":red_circle:",
    "MEDIUM": ":large_orange_circle:",
    "WARN": ":large_orange_circle:",
    "LOW": ":large_blue_circle:",
    "INFO": ":large_blue_circle:",
}


# --- moments and durations ------------------------------------------------------------------------------------


def format_utc(moment: datetime) -> str:
    """A moment as `2026-03-02 08:00 UTC`, whatever time zone it came in (the session's, for timestamptz)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_utc_or_unknown(moment: datetime | None) -> str:
    return format_utc(moment) if moment else "?"


def format_utc_seconds(moment: datetime) -> str:
    """A moment to the second, `2026-03-02 08:00:05 UTC` (when a run or a check evaluation happened)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h" if hours >= 1 else f"{delta.total_seconds() / 60:g} min"


# --- notes ----------------------------------------------------------------------------------------------------


def follow_up_note(
    kind: MessageKind, alert: Alert, severity: str, active_since: datetime | None, settings: AlertSettings
) -> str | None:
    """What a reminder or an escalation says about the incident so far (nothing for other kinds)."""
    since = format_utc_or_unknown(active_since)
    if kind is MessageKind.REMINDER:
        return f"Still failing since {since} (reminder every {format_duration(settings.suppression)})."
    if kind is MessageKind.ESCALATION:
        return (
            f"Escalated {alert.severity} → {severity}: still failing since {since} "
            f"(over {format_duration(settings.escalation_after)})."
        )
    return None


def worse_note(said: str, severity: str, active_since: datetime | None) -> str:
    """An open alert that became more severe than the last message about it said."""
    return f"Worse: {said} → {severity} (failing since {format_utc_or_unknown(active_since)})."


def resolved_note(note: str, active_since: datetime | None) -> str | None:
    """How we know it is fine again, and since when it had been failing."""
    since = f"failing since {format_utc_or_unknown(active_since)}" if active_since else ""
    return "; ".join(p for p in (note, since) if p) or None


# --- plain text -----------------------------------------------------------------------------------------------


def message_heading(message: OutgoingMessage) -> str:
    """`[ERROR] title`, `[RESOLVED] title`, `[ESCALATED → ERROR] title`."""
    if message.kind is MessageKind.RESOLVED:
        label = "RESOLVED"
    elif message.kind is MessageKind.ESCALATION:
        label = f"ESCALATED → {message.severity}"
    else:
        label = message.severity
    return f"[{label}] {message.title}"


def render_text(message: OutgoingMessage) -> str:
    """Plain text of a message: the log fallback and Slack's notification text."""
    lines = [message_heading(message)]
    for item in message.items:
        alert = item.alert
        prefix = "" if len(message.items) == 1 else f"• {alert.title}: "
        lines.append(f"{prefix}{alert.summary}".rstrip())
        lines.extend(f"    {label}: {value}" for label, value in alert.facts)
        if item.note:
            lines.append(f"    {item.note}")
        if alert.link:
            lines.append(f"    {alert.link_label}: {alert.link}")
        lines.append(f"    alert: {alert.alert_type} {alert.key}")
    return "\n".join(lines)


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters (Slack's field limits, error texts)."""
    return text if len(text) <= limit else text[: limit - 2] + " …"


# --- Slack ----------------------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{_escape(label)}>"


def fallback_text(message: OutgoingMessage) -> str:
    """Slack's notification text (and what a client without blocks shows)."""
    text = render_text(message)
    return text if len(text) <= 3000 else text[:2990] + " …"


def build_blocks(message: OutgoingMessage) -> list[dict[str, Any]]:
    """Header (title with severity), what/where/how many as fields, a link to the Dagster UI, the alert key."""
    emoji = ":white_check_mark:" if message.kind is MessageKind.RESOLVED else _SEVERITY_EMOJI[message.severity]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(f"{emoji} {message_heading(message)}", 150)}}
    ]
    if len(message.items) == 1:
        item = message.items[0]
        alert = item.alert
        if alert.summary:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": cut(_escape(alert.summary), 3000)}})
        if alert.facts:
            fields = [
                {"type": "mrkdwn", "text": cut(f"*{_escape(label)}*\n{_escape(value)}", 2000)}
                for label, value in alert.facts[:10]
            ]
            blocks.append({"type": "section", "fields": fields})
        if item.note:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(_escape(item.note), 3000)}]})
        if alert.link:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _link(alert.link, alert.link_label)}})
        context = f"`{alert.alert_type}` · `{_escape(alert.key)}`"
    else:
        lines = []
        for item in message.items[:MAX_LIST_ITEMS]:
            alert = item.alert
            line = f"• *{_escape(alert.title)}*"
            if alert.summary:
                line += f" — {_escape(alert.summary)}"
            if item.note:
                line += f" _({_escape(item.note)})_"
            if alert.link:
                line += f" {_link(alert.link, 'open')}"
            lines.append(line)
        if len(message.items) > MAX_LIST_ITEMS:
            lines.append(f"… and {len(message.items) - MAX_LIST_ITEMS} more")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": cut("\n".join(lines), 3000)}})
        first = message.items[0].alert
        context = f"`{first.alert_type}` · {len(message.items)} alerts"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(context, 3000)}]})
    return blocks
