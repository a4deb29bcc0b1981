"""What configures the alerts: where messages go (Slack's webhook, or a bot token and channel) and the policy's
suppression and escalation times, from explicit values or the environment.

Explicit values (the Dagster resource's fields, CLI options) win; what is left unset is read from the environment
when needed, so that with nothing configured alerts still go to the log.
"""

import os
from dataclasses import dataclass
from datetime import timedelta

from campaign_ops.alerts.policy import AlertSettings
from campaign_ops.errors import ConfigError

WEBHOOK_ENV_VARS = ("ALERT_WEBHOOK_URL", "DE_ENROLLMENT_ALERT_WEBHOOK")
BOT_TOKEN_ENV_VAR = "SLACK_BOT_TOKEN"
CHANNEL_ENV_VAR = "SLACK_ALERT_CHANNEL"
SUPPRESSION_ENV_VAR = "ALERT_SUPPRESSION_HOURS"
ESCALATION_ENV_VAR = "ALERT_ESCALATION_HOURS"
DEFAULT_API_URL = "https://slack.com/api/"


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
    return AlertSettings(
        suppression=timedelta(hours=_hours_from_env(SUPPRESSION_ENV_VAR, suppression_hours, 6.0)),
        escalation_after=timedelta(hours=_hours_from_env(ESCALATION_ENV_VAR, escalation_hours, 12.0)),
    )
