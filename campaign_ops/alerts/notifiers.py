"""The channels an alert message is delivered to: Slack through slack-sdk (an incoming webhook, or a bot token
with a channel), the log when no Slack is configured, and a channel that fails with the one reason when Slack is
half configured; `build_pagers` adds the paging channels (campaign_ops.alerts.sms, campaign_ops.alerts.pagerduty).

Every notifier returns a `DeliveryResult` and never raises: HTTP errors, 429 (with its Retry-After), timeouts and
unreachable hosts become a failed result whose text carries no webhook URL or token. slack-sdk's own retries are
switched off (the alert pipeline owns retrying, across ticks) and its logger is one of ours that never logs
requests (slack-sdk logs the webhook URL at DEBUG level).
"""

import logging
import socket
import urllib.error
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from campaign_ops.alerts.config import PagerDutyConfig, SlackConfig, TwilioConfig
from campaign_ops.alerts.model import DeliveryResult, LogSink, Notifier, OutgoingMessage, logger
from campaign_ops.alerts.rendering import build_blocks, cut, fallback_text, render_text
from campaign_ops.errors import ConfigError, mask_secrets


def _sdk_logger() -> logging.Logger:
    """The logger handed to slack-sdk: silent (we report failures ourselves), so its request lines — which carry
    the webhook URL — are never built."""
    sdk_logger = logging.getLogger("campaign_ops.alerts.slack_sdk")
    sdk_logger.setLevel(logging.CRITICAL)
    return sdk_logger


def build_notifier(config: SlackConfig, log: LogSink | None = None) -> Notifier:
    """The webhook when one is configured, else chat.postMessage with a bot token and channel, else the log."""
    if config.webhook_url:
        return SlackWebhookNotifier(config)
    if config.bot_token and config.channel:
        return SlackApiNotifier(config)
    if config.bot_token:
        return MisconfiguredNotifier(f"Slack is misconfigured: {config.description}")
    return LogNotifier(log)


class LogNotifier:
    """The clear fallback when no Slack is configured: the alert is written to the log (status 'logged')."""

    channel = "log"

    def __init__(self, log: LogSink | None = None) -> None:
        self.log = log or logger

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        self.log.warning(f"[ALERT] (no Slack configured; logged only)\n{render_text(message)}")
        return DeliveryResult(status="logged", channel=self.channel)


class MisconfiguredNotifier:
    """Half a configuration (Slack's, or a paging channel's with a wrong number): every delivery fails with the
    one clear reason (recorded, logged, retried), while the other channels go on."""

    def __init__(self, reason: str, channel: str = "none") -> None:
        self.reason = reason
        self.channel = channel

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        return DeliveryResult(status="failed", channel=self.channel, error=self.reason)


def build_pagers(
    twilio: Callable[[], TwilioConfig | None], pagerduty: Callable[[], PagerDutyConfig | None]
) -> list[Notifier]:
    """The paging channels configured: SMS through Twilio, PagerDuty. A configuration that is wrong (half of
    Twilio's variables, a number not in E.164) becomes a channel whose every delivery fails with that one line,
    so that Slack still gets the alert and the error is on record and in the log at every tick."""
    from campaign_ops.alerts.pagerduty import PagerDutyNotifier
    from campaign_ops.alerts.sms import TwilioSmsNotifier

    pagers: list[Notifier] = []
    try:
        sms = twilio()
        if sms is not None:
            pagers.append(TwilioSmsNotifier(sms))
    except ConfigError as exc:
        pagers.append(MisconfiguredNotifier(f"SMS is misconfigured: {exc}", "sms"))
    try:
        pd = pagerduty()
        if pd is not None:
            pagers.append(PagerDutyNotifier(pd))
    except ConfigError as exc:
        pagers.append(MisconfiguredNotifier(f"PagerDuty is misconfigured: {exc}", "pagerduty"))
    return pagers


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
            response = self.client.send(text=fallback_text(message), blocks=build_blocks(message))
        except Exception as exc:
            return _exception_result(exc, self.channel, self.config)
        if response.status_code == 200:
            return DeliveryResult(status="sent", channel=self.channel, http_status=200)
        return DeliveryResult(
            status="failed",
            channel=self.channel,
            http_status=response.status_code,
            error=cut(mask_secrets(f"HTTP {response.status_code}: {response.body or ''}", self.config.secrets), 200),
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
                channel=self.config.channel, text=fallback_text(message), blocks=build_blocks(message)
            )
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            return DeliveryResult(
                status="failed",
                channel=self.channel,
                http_status=status,
                error=cut(mask_secrets(f"HTTP {status}: {error or 'not ok'}", self.config.secrets), 200),
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
    return DeliveryResult(status="failed", channel=channel, error=cut(mask_secrets(text, config.secrets), 300))
