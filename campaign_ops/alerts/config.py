"""What configures the alerts: where messages go (Slack's webhook, or a bot token and channel; SMS through Twilio
and PagerDuty for what pages someone) and the policy's suppression, escalation and acknowledgement times, from
explicit values or the environment.

Explicit values (the Dagster resource's fields, CLI options) win; what is left unset is read from the environment
when needed, so that with nothing configured alerts still go to the log.
"""

import os
import re
from dataclasses import dataclass
from datetime import timedelta

from campaign_ops import thresholds
from campaign_ops.alerts.model import ALERT_TYPES
from campaign_ops.alerts.phones import e164, e164_list, masked_number
from campaign_ops.alerts.policy import AlertSettings
from campaign_ops.errors import ConfigError

WEBHOOK_ENV_VARS = ("ALERT_WEBHOOK_URL", "DE_ENROLLMENT_ALERT_WEBHOOK")
# pinged while the alert pipeline is healthy (campaign_ops.oncall)
HEARTBEAT_ENV_VAR = "ALERT_HEARTBEAT_URL"
BOT_TOKEN_ENV_VAR = "SLACK_BOT_TOKEN"
CHANNEL_ENV_VAR = "SLACK_ALERT_CHANNEL"
SUPPRESSION_ENV_VAR = "ALERT_SUPPRESSION_HOURS"
ESCALATION_ENV_VAR = "ALERT_ESCALATION_HOURS"
DEFAULT_API_URL = "https://slack.com/api/"
SMS_TYPES_ENV_VAR = "ALERT_SMS_TYPES"
ACK_MINUTES_ENV_VAR = "ALERT_ACK_MINUTES"
TWILIO_ENV_VARS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER", "ADMIN_PHONE")
TWILIO_API_URL_ENV_VAR = "TWILIO_API_URL"
DEFAULT_TWILIO_API_URL = "https://api.twilio.com"
PAGERDUTY_KEY_ENV_VAR = "PAGERDUTY_ROUTING_KEY"
PAGERDUTY_API_URL_ENV_VAR = "PAGERDUTY_API_URL"
DEFAULT_PAGERDUTY_API_URL = "https://events.pagerduty.com"


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


def _hours_from_env(name: str, explicit: float | None, default: float, unit: str = "hours") -> float:
    if explicit is not None:
        value = explicit
    else:
        raw = _env(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number of {unit}, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number of {unit}, got {value:g}")
    return value


def alert_settings_from_env(
    *,
    suppression_hours: float | None = None,
    escalation_hours: float | None = None,
    sms_types: str | None = None,
    ack_minutes: float | None = None,
) -> AlertSettings:
    """Suppression window (ALERT_SUPPRESSION_HOURS, default 6), escalation delay (ALERT_ESCALATION_HOURS, 12), the
    alert types that page at ERROR besides the critical ones (ALERT_SMS_TYPES, comma-separated) and the minutes
    an ERROR may go unacknowledged before it pages (ALERT_ACK_MINUTES, 30)."""
    ack = _hours_from_env(ACK_MINUTES_ENV_VAR, ack_minutes, float(thresholds.ACK_MINUTES), "minutes")
    return AlertSettings(
        suppression=timedelta(hours=_hours_from_env(SUPPRESSION_ENV_VAR, suppression_hours, 6.0)),
        escalation_after=timedelta(hours=_hours_from_env(ESCALATION_ENV_VAR, escalation_hours, 12.0)),
        sms_types=parse_alert_types(sms_types if sms_types is not None else _env(SMS_TYPES_ENV_VAR) or ""),
        ack_after=timedelta(minutes=ack),
    )


def parse_alert_types(raw: str) -> frozenset[str]:
    """`STUCK_LEADS, run_failed` → the known alert types named (ConfigError for an unknown one)."""
    names = {part.strip().upper() for part in re.split(r"[,;\s]+", raw) if part.strip()}
    unknown = sorted(names - set(ALERT_TYPES))
    if unknown:
        raise ConfigError(
            f"{SMS_TYPES_ENV_VAR}: unknown alert type(s) {', '.join(unknown)}; known: {', '.join(sorted(ALERT_TYPES))}"
        )
    return frozenset(names)


# --- paging channels: SMS (Twilio) and PagerDuty -------------------------------------------------------------------


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    from_number: str
    to_numbers: tuple[str, ...]
    api_url: str = DEFAULT_TWILIO_API_URL
    timeout_seconds: float = 5.0

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.auth_token, self.account_sid)

    @property
    def description(self) -> str:
        return f"SMS through Twilio to {', '.join(masked_number(n) for n in self.to_numbers)}"


@dataclass(frozen=True)
class PagerDutyConfig:
    routing_key: str
    api_url: str = DEFAULT_PAGERDUTY_API_URL
    timeout_seconds: float = 5.0

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.routing_key,)

    @property
    def description(self) -> str:
        return "PagerDuty Events API v2"


def _base_url(raw: str, setting: str) -> str:
    url = raw.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", url):
        raise ConfigError(f"{setting}: expected an http(s) base URL without query, like https://api.twilio.com")
    return url


def twilio_config_from_env(
    *,
    account_sid: str | None = None,
    auth_token: str | None = None,
    from_number: str | None = None,
    admin_phone: str | None = None,
    api_url: str | None = None,
    timeout_seconds: float = 5.0,
) -> TwilioConfig | None:
    """None when none of TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_NUMBER, ADMIN_PHONE is set; ConfigError when
    only some are, or a number is not E.164 — before anything is sent."""
    explicit = dict(zip(TWILIO_ENV_VARS, (account_sid, auth_token, from_number, admin_phone), strict=True))
    values = {name: (value or _env(name)) for name, value in explicit.items()}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigError(f"SMS alerts need {', '.join(TWILIO_ENV_VARS)}; not set: {', '.join(missing)}")
    return TwilioConfig(
        account_sid=str(values["TWILIO_ACCOUNT_SID"]),
        auth_token=str(values["TWILIO_AUTH_TOKEN"]),
        from_number=e164(str(values["TWILIO_NUMBER"]), "TWILIO_NUMBER"),
        to_numbers=e164_list(str(values["ADMIN_PHONE"]), "ADMIN_PHONE"),
        api_url=_base_url(api_url or _env(TWILIO_API_URL_ENV_VAR) or DEFAULT_TWILIO_API_URL, TWILIO_API_URL_ENV_VAR),
        timeout_seconds=timeout_seconds,
    )


def pagerduty_config_from_env(
    *, routing_key: str | None = None, api_url: str | None = None, timeout_seconds: float = 5.0
) -> PagerDutyConfig | None:
    """None unless PAGERDUTY_ROUTING_KEY is set; PAGERDUTY_API_URL is the Events API's base (tests point it at a
    local server)."""
    key = routing_key or _env(PAGERDUTY_KEY_ENV_VAR)
    if not key:
        return None
    base = api_url or _env(PAGERDUTY_API_URL_ENV_VAR) or DEFAULT_PAGERDUTY_API_URL
    return PagerDutyConfig(key, _base_url(base, PAGERDUTY_API_URL_ENV_VAR), timeout_seconds)
