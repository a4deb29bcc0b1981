"""Delivering alert messages to Slack through slack-sdk: an incoming webhook, or a bot token with a channel.

Every notifier returns a `DeliveryResult` and never raises: HTTP errors, 429 (with its Retry-After), timeouts and
unreachable hosts become a failed result whose text carries no webhook URL or token. slack-sdk's own retries are
switched off (the alert pipeline owns retrying, across ticks) and its logger is one of ours that never logs
requests (slack-sdk logs the webhook URL at DEBUG level).
"""

import logging
import os
import socket
import urllib.error
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from campaign_ops.alerts.core import (
    AlertSettings,
    DeliveryResult,
    LogNotifier,
    LogSink,
    MessageKind,
    Notifier,
    OutgoingMessage,
    mask_secrets,
    message_heading,
    render_text,
)
from campaign_ops.errors import ConfigError

WEBHOOK_ENV_VARS = ("ALERT_WEBHOOK_URL", "DE_ENROLLMENT_ALERT_WEBHOOK")
BOT_TOKEN_ENV_VAR = "SLACK_BOT_TOKEN"
CHANNEL_ENV_VAR = "SLACK_ALERT_CHANNEL"
SUPPRESSION_ENV_VAR = "ALERT_SUPPRESSION_HOURS"
ESCALATION_ENV_VAR = "ALERT_ESCALATION_HOURS"
DEFAULT_API_URL = "https://slack.com/api/"
MAX_LIST_ITEMS = 20

_SEVERITY_EMOJI = {
    "CRITICAL": ":rotating_light:",
    "HIGH": ":red_circle:",
    "ERROR": ":red_circle:",
    "MEDIUM": ":large_orange_circle:",
    "WARN": ":large_orange_circle:",
    "LOW": ":large_blue_circle:",
    "INFO": ":large_blue_circle:",
}


def _sdk_logger() -> logging.Logger:
    """The logger handed to slack-sdk: silent (we report failures ourselves), so its request lines — which carry
    the webhook URL — are never built."""
    sdk_logger = logging.getLogger("campaign_ops.alerts.slack_sdk")
    sdk_logger.setLevel(logging.CRITICAL)
    return sdk_logger


@dataclass(frozen=True)
class SlackConfig:
    webhook_url: str | None = None
    bot_token: str | None = None
    channel: str | None = None
    api_url: str = DEFAULT_API_URL
    timeout_seconds: float = 5.0

    @property
    def secrets(self) -> tuple[str, ...]:
        """What `mask_secrets` must hide in any text about this channel (the webhook URL with its path and each
        of its segments, the token)."""
        return tuple(s for s in (self.webhook_url, self.bot_token) if s)

    @property
    def description(self) -> str:
        """Where alerts go, safe to print."""
        if self.webhook_url:
            return "Slack incoming webhook"
        if self.bot_token and self.channel:
            return f"Slack chat.postMessage to {self.channel}"
        if self.bot_token:
            return f"nowhere: {BOT_TOKEN_ENV_VAR} is set but {CHANNEL_ENV_VAR} is not"
        return "the log (no Slack configured)"


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def slack_config_from_env(
    *,
    webhook_url: str | None = None,
    bot_token: str | None = None,
    channel: str | None = None,
    api_url: str | None = None,
    timeout_seconds: float = 5.0,
) -> SlackConfig:
    """Explicit values win; what is left unset comes from ALERT_WEBHOOK_URL (or the SOP's
    DE_ENROLLMENT_ALERT_WEBHOOK), SLACK_BOT_TOKEN and SLACK_ALERT_CHANNEL."""
    if timeout_seconds <= 0:
        raise ConfigError(f"Slack timeout must be positive, got {timeout_seconds}")
    return SlackConfig(
        webhook_url=webhook_url or next((v for v in map(_env, WEBHOOK_ENV_VARS) if v), None),
        bot_token=bot_token or _env(BOT_TOKEN_ENV_VAR),
        channel=channel or _env(CHANNEL_ENV_VAR),
        api_url=api_url or DEFAULT_API_URL,
        timeout_seconds=timeout_seconds,
    )


def _hours_from_env(name: str, explicit: float | None, default: float) -> float:
    if explicit is not None:
        value = explicit
    else:
        raw = _env(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number of hours, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number of hours, got {value:g}")
    return value


def alert_settings_from_env(
    *, suppression_hours: float | None = None, escalation_hours: float | None = None
) -> AlertSettings:
    """Suppression window (ALERT_SUPPRESSION_HOURS, default 6) and escalation delay (ALERT_ESCALATION_HOURS, 12)."""
    from datetime import timedelta

    return AlertSettings(
        suppression=timedelta(hours=_hours_from_env(SUPPRESSION_ENV_VAR, suppression_hours, 6.0)),
        escalation_after=timedelta(hours=_hours_from_env(ESCALATION_ENV_VAR, escalation_hours, 12.0)),
    )


def build_notifier(config: SlackConfig, log: LogSink | None = None) -> Notifier:
    """The webhook when one is configured, else chat.postMessage with a bot token and channel, else the log."""
    if config.webhook_url:
        return SlackWebhookNotifier(config)
    if config.bot_token and config.channel:
        return SlackApiNotifier(config)
    if config.bot_token:
        return MisconfiguredNotifier(f"Slack is misconfigured: {config.description}")
    return LogNotifier(log)


class MisconfiguredNotifier:
    """Half a Slack configuration: every delivery fails with the one clear reason (recorded, logged, retried)."""

    channel = "none"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        return DeliveryResult(status="failed", channel=self.channel, error=self.reason)


class SlackWebhookNotifier:
    channel = "slack_webhook"

    def __init__(self, config: SlackConfig) -> None:
        assert config.webhook_url
        self.config = config
        self.secrets = config.secrets
        self.client = WebhookClient(
            config.webhook_url,
            timeout=config.timeout_seconds,  # type: ignore[arg-type]  # slack-sdk passes it to urllib, floats work
            logger=_sdk_logger(),
            retry_handlers=[],
        )

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        try:
            response = self.client.send(text=_fallback_text(message), blocks=build_blocks(message))
        except Exception as exc:
            return _exception_result(exc, self.channel, self.config)
        if response.status_code == 200:
            return DeliveryResult(status="sent", channel=self.channel, http_status=200)
        return DeliveryResult(
            status="failed",
            channel=self.channel,
            http_status=response.status_code,
            error=_cut(mask_secrets(f"HTTP {response.status_code}: {response.body or ''}", self.config.secrets), 200),
            retry_after=_retry_after(response.headers) if response.status_code == 429 else None,
        )


class SlackApiNotifier:
    channel = "slack_api"

    def __init__(self, config: SlackConfig) -> None:
        assert config.bot_token and config.channel
        self.config = config
        self.secrets = config.secrets
        self.client = WebClient(
            token=config.bot_token,
            base_url=config.api_url,
            timeout=config.timeout_seconds,  # type: ignore[arg-type]
            logger=_sdk_logger(),
            retry_handlers=[],
        )

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        assert self.config.channel
        try:
            self.client.chat_postMessage(
                channel=self.config.channel, text=_fallback_text(message), blocks=build_blocks(message)
            )
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            return DeliveryResult(
                status="failed",
                channel=self.channel,
                http_status=status,
                error=_cut(mask_secrets(f"HTTP {status}: {error or 'not ok'}", self.config.secrets), 200),
                retry_after=_retry_after(exc.response.headers) if status == 429 else None,
            )
        except Exception as exc:
            return _exception_result(exc, self.channel, self.config)
        return DeliveryResult(status="sent", channel=self.channel, http_status=200)


def _retry_after(headers: dict[str, Any] | None) -> float | None:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def _exception_result(exc: Exception, channel: str, config: SlackConfig) -> DeliveryResult:
    """Timeouts, refused connections, DNS failures and anything else slack-sdk raised, described safely."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError | socket.timeout):
        text = f"timeout: no answer from Slack within {config.timeout_seconds:g} s"
    elif isinstance(reason, socket.gaierror):
        text = f"cannot resolve Slack's host name: {reason.strerror or reason}"
    elif isinstance(reason, ConnectionError | OSError):
        text = f"cannot reach Slack: {getattr(reason, 'strerror', None) or reason}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return DeliveryResult(status="failed", channel=channel, error=_cut(mask_secrets(text, config.secrets), 300))


# --- message layout -----------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{_escape(label)}>"


def _fallback_text(message: OutgoingMessage) -> str:
    text = render_text(message)
    return text if len(text) <= 3000 else text[:2990] + " …"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 2] + " …"


def build_blocks(message: OutgoingMessage) -> list[dict[str, Any]]:
    """Header (title with severity), what/where/how many as fields, a link to the Dagster UI, the alert key."""
    emoji = ":white_check_mark:" if message.kind is MessageKind.RESOLVED else _SEVERITY_EMOJI[message.severity]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(f"{emoji} {message_heading(message)}", 150)}}
    ]
    if len(message.items) == 1:
        item = message.items[0]
        alert = item.alert
        if alert.summary:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(_escape(alert.summary), 3000)}})
        if alert.facts:
            fields = [
                {"type": "mrkdwn", "text": _cut(f"*{_escape(label)}*\n{_escape(value)}", 2000)}
                for label, value in alert.facts[:10]
            ]
            blocks.append({"type": "section", "fields": fields})
        if item.note:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(_escape(item.note), 3000)}]})
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
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut("\n".join(lines), 3000)}})
        first = message.items[0].alert
        context = f"`{first.alert_type}` · {len(message.items)} alerts"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(context, 3000)}]})
    return blocks
