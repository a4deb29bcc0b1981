"""PagerDuty as a paging channel: the Events API v2 (`POST /v2/enqueue`), one event per alert.

A firing message, a reminder or an escalation is a `trigger` whose `dedup_key` is the alert's key, so PagerDuty
keeps one incident per alert; the "resolved" message is a `resolve` with the same key. PAGERDUTY_API_URL replaces
the API's base (tests point it at a local server). The routing key is a secret: it is masked in every text.
"""

import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

from campaign_ops.alerts.config import PagerDutyConfig
from campaign_ops.alerts.model import DeliveryResult, MessageKind, OutgoingMessage
from campaign_ops.alerts.rendering import cut, message_heading
from campaign_ops.errors import mask_secrets

_SEVERITY = {"CRITICAL": "critical", "HIGH": "critical", "ERROR": "error", "MEDIUM": "warning", "WARN": "warning"}


def dedup_key(alert_key: str) -> str:
    """The alert's key (PagerDuty takes at most 255 characters: a longer key keeps its start and a digest)."""
    if len(alert_key) <= 255:
        return alert_key
    return f"{alert_key[:230]}#{hashlib.sha256(alert_key.encode()).hexdigest()[:24]}"


def event(message: OutgoingMessage, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body for a one-alert message."""
    item = message.items[0]
    alert = item.alert
    body: dict[str, Any] = {"routing_key": routing_key, "dedup_key": dedup_key(alert.key)}
    if message.kind is MessageKind.RESOLVED:
        return {**body, "event_action": "resolve"}
    details = {label: value for label, value in alert.facts}
    if item.note:
        details["Note"] = item.note
    body.update(
        event_action="trigger",
        payload={
            "summary": cut(message_heading(message), 1024),
            "source": "campaign-ops",
            "severity": _SEVERITY.get(message.severity, "info"),
            "component": alert.client_name or alert.client_id or "platform",
            "class": alert.alert_type,
            "custom_details": {"summary": alert.summary, **details},
        },
    )
    if alert.link:
        body["links"] = [{"href": alert.link, "text": alert.link_label}]
    return body


class PagerDutyNotifier:
    channel = "pagerduty"
    groups = False
    """One event per alert: PagerDuty de-duplicates by each alert's key."""

    def __init__(self, config: PagerDutyConfig) -> None:
        self.config = config
        self.secrets = config.secrets

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        return self._post(event(message, self.config.routing_key))

    def acknowledge(self, alert_key: str) -> DeliveryResult:
        """Someone is on it: PagerDuty stops escalating its incident."""
        body = {
            "routing_key": self.config.routing_key,
            "dedup_key": dedup_key(alert_key),
            "event_action": "acknowledge",
        }
        return self._post(body)

    def _post(self, body: dict[str, Any]) -> DeliveryResult:
        request = urllib.request.Request(
            f"{self.config.api_url}/v2/enqueue",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_seconds) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")[:200]
            retry = exc.headers.get("Retry-After") if exc.code == 429 else None
            return DeliveryResult(
                status="failed",
                channel=self.channel,
                http_status=exc.code,
                error=cut(mask_secrets(f"HTTP {exc.code}: {text}", self.secrets), 300),
                retry_after=float(retry) if retry and retry.isdigit() else None,
            )
        except OSError as exc:  # URLError, timeouts, refused connections
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                text = f"timeout: no answer from PagerDuty within {self.config.timeout_seconds:g} s"
            else:
                text = f"cannot reach PagerDuty: {getattr(reason, 'strerror', None) or reason}"
            return DeliveryResult(status="failed", channel=self.channel, error=mask_secrets(text, self.secrets))
        return DeliveryResult(status="sent", channel=self.channel, http_status=status)
