"""SMS for the alerts that page: one SMS per message (at most 160 GSM-7 characters: what, which client, one fact,
a short link), sent through the official `twilio` library to every number of ADMIN_PHONE.

TWILIO_API_URL replaces the API's base URL (tests point it at a local server speaking Twilio's Messages API):
the library's documented way to change how it makes requests is a custom HTTP client (a `TwilioHttpClient`
subclass), and ours rewrites the base of each URL. Its logger is silent (it logs request URLs, which carry the
account SID), its retries are off (the alert pipeline retries, across ticks, with back-off), and the library reads
nothing from the environment (`environment={}`: no TWILIO_EDGE / TWILIO_REGION rerouting).
"""

import logging
import unicodedata
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from campaign_ops.alerts.config import DEFAULT_TWILIO_API_URL, TwilioConfig
from campaign_ops.alerts.model import DeliveryResult, MessageKind, OutgoingMessage
from campaign_ops.alerts.phones import masked_number
from campaign_ops.alerts.rendering import cut
from campaign_ops.errors import mask_secrets

SMS_LIMIT = 160
"""One SMS: 160 characters of the GSM 03.38 alphabet (a character of its extension table counts two)."""

NAME_LIMIT = 40
"""A client's name is cut here, leaving the fact room."""

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€")
_PLAIN = {"→": "->", "…": "...", "·": "-", "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "×": "x"}


def gsm7(text: str) -> str:
    """`text` in the GSM-7 alphabet: typographic characters made plain, accents dropped where GSM-7 lacks them,
    anything else `?` (one character outside it would make the SMS UCS-2, 70 characters)."""
    out = []
    for char in text:
        char = _PLAIN.get(char, char)
        if all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in char):
            out.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        out.append(plain if plain and all(c in _GSM7_BASIC for c in plain) else "?")
    return "".join(out)


def gsm7_length(text: str) -> int:
    return sum(2 if c in _GSM7_EXTENDED else 1 for c in text)


def _fit(text: str, limit: int) -> str:
    if gsm7_length(text) <= limit:
        return text
    while text and gsm7_length(text) > limit - 3:
        text = text[:-1]
    return text.rstrip() + "..."


def short_link(url: str | None) -> str | None:
    """The link without its query (a client's runs, a check: the page, not the selection in it)."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _label(message: OutgoingMessage) -> str:
    if message.kind is MessageKind.RESOLVED:
        return "RESOLVED"
    if message.kind is MessageKind.ESCALATION:
        return f"ESCALATED {message.severity}"
    if message.kind is MessageKind.REMINDER:
        return f"STILL {message.severity}"
    return message.severity


def _client(alert: Any) -> str | None:
    if alert.client_name:
        return str(alert.client_name)
    for label, value in alert.facts:
        if label == "Client":
            return str(value).split(" (")[0]
    return alert.client_id[:8] if alert.client_id else None


def _fact(alert: Any) -> str:
    for label, value in alert.facts:
        if label not in ("Client", "Run", "Where", "Check", "To do", "Fix in Dagster"):
            return f"{label} {value}"
    return str(alert.title)


def render_sms(message: OutgoingMessage, secrets: tuple[str, ...] = ()) -> str:
    """`[HIGH] STUCK_CLIENT Acme Ltd: State S9_FAILED http://ui/assets/onboarding_states`, within one SMS; several
    alerts of a group: `[HIGH] 3x STUCK_CLIENT: Acme, Globex, Initech <link>`. Masked: it carries no secret."""
    first = message.items[0].alert
    head = f"[{_label(message)}] "
    if len(message.items) == 1:
        client = _client(first)
        client = _fit(client, NAME_LIMIT) if client else None
        body = f"{first.alert_type} {client}: {_fact(first)}" if client else f"{first.alert_type}: {_fact(first)}"
    else:
        names = [_fit(_client(i.alert) or i.alert.key, NAME_LIMIT) for i in message.items]
        body = f"{len(message.items)}x {first.alert_type}: {', '.join(sorted(names))}"
    link = short_link(first.link)
    head, body = gsm7(mask_secrets(head, secrets)), gsm7(mask_secrets(body, secrets))
    tail = f" {gsm7(mask_secrets(link, secrets))}" if link else ""
    if gsm7_length(head + tail) > SMS_LIMIT // 2:  # a link too long to leave room for what happened
        tail = ""
    return head + _fit(body, SMS_LIMIT - gsm7_length(head) - gsm7_length(tail)) + tail


class _BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, with the API's base URL replaced (TWILIO_API_URL)."""

    def __init__(self, api_url: str, timeout: float) -> None:
        quiet = logging.getLogger("campaign_ops.alerts.twilio_http")
        quiet.setLevel(logging.CRITICAL)
        super().__init__(timeout=timeout, logger=quiet)
        self.api_url = api_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(DEFAULT_TWILIO_API_URL):
            url = self.api_url + url[len(DEFAULT_TWILIO_API_URL) :]
        return super().request(method, url, *args, **kwargs)


class TwilioSmsNotifier:
    """One SMS per message to each number; 'sent' when every number's SMS was accepted, else 'failed' with the
    numbers that failed (the retry sends to all of them again: a second SMS rather than a missed one)."""

    channel = "sms"
    groups = True

    def __init__(self, config: TwilioConfig) -> None:
        self.config = config
        self.secrets = config.secrets
        self.client = Client(
            config.account_sid,
            config.auth_token,
            http_client=_BaseUrlHttpClient(config.api_url, config.timeout_seconds),
            environment={},
        )

    def send(self, body: str) -> DeliveryResult:
        failures: list[str] = []
        status: int | None = 201
        for number in self.config.to_numbers:
            try:
                self.client.messages.create(to=number, from_=self.config.from_number, body=body)
            except TwilioRestException as exc:
                status = exc.status
                failures.append(f"{masked_number(number)}: HTTP {exc.status}: {exc.msg}")
            except Exception as exc:
                status = None
                failures.append(f"{masked_number(number)}: {_transport_error(exc, self.config)}")
        if not failures:
            return DeliveryResult(status="sent", channel=self.channel, http_status=201)
        error = cut(mask_secrets("; ".join(failures), self.secrets), 300)
        return DeliveryResult(status="failed", channel=self.channel, http_status=status, error=error)

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        return self.send(render_sms(message, self.secrets))


def _transport_error(exc: Exception, config: TwilioConfig) -> str:
    """Timeouts and unreachable hosts, said without the request URL (it carries the account SID)."""
    name = type(exc).__name__
    if "Timeout" in name:
        return f"timeout: no answer from Twilio within {config.timeout_seconds:g} s"
    if "ConnectionError" in name:
        return "cannot reach Twilio (connection refused or host unknown)"
    return f"{name}: {mask_secrets(str(exc), config.secrets)}"
