"""Errors that reach operators as one clear line (the CLI prints them without a traceback), the one line any
error is reduced to (`error_line`), and the masking of secrets in every text that reaches operators."""

import re
from collections.abc import Iterable


class CampaignOpsError(Exception):
    """A problem the user can act on: bad input, bad configuration, unreachable database."""


class ConfigError(CampaignOpsError):
    """Configuration (environment, run config, CLI options) is invalid."""


class DatabaseUnavailableError(CampaignOpsError):
    """The database server cannot be reached."""


class UnknownClientError(CampaignOpsError):
    """A client id that is not a uuid, does not exist or is inactive."""


class ProcessingPaused(CampaignOpsError):
    """A writing command or job refused because processing is paused (nothing was changed; pause/core.py)."""


# the SQLSTATE of the database's refusal while processing is paused (sql/objects/refuse_while_paused.sql)
PAUSED_SQLSTATE = "PAUSE"


def is_paused_error(exc: BaseException) -> bool:
    """The database refused a write because processing is paused."""
    return getattr(getattr(exc, "orig", None), "pgcode", None) == PAUSED_SQLSTATE


# --- masking ------------------------------------------------------------------------------------------------
# The one masking function of the package: every text that can reach a terminal, a log, Dagster (metadata,
# failure descriptions) or a table (alert_logs.last_error, alert_deliveries.error, alert texts) goes through
# `mask_secrets` first — and before any truncation, so that a cut can never leave half a secret readable.

MASK = "***"

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # a Slack incoming webhook, whole
    (re.compile(r"https?://hooks\.slack(?:-gov)?\.com/\S+"), "https://hooks.slack.com/***"),
    # a webhook's path wherever it appears, e.g. echoed by a relay: `proxy error for /services/T…/B…/…`
    (re.compile(r"/services/[^\s'\"<>)\]]+"), "/services/***"),
    # Slack tokens (bot, user, app-level)
    (re.compile(r"xox[a-z]-[A-Za-z0-9-]+"), "xox*-***"),
    (re.compile(r"xapp-[A-Za-z0-9-]+"), "xapp-***"),
    # user:password@ in any URL (a URL's user has no `[`: `user[:password]@host`, the usage hint, is not a secret)
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@\[]*):[^\s@/]+@", re.IGNORECASE), r"\1:***@"),
    # password / sslpassword / passfile (and PGPASSWORD…) as URL query keys or libpq keyword=value pairs,
    # the value quoted ('…' with \' escapes) or bare (up to a separator)
    (
        re.compile(
            r"(\b\w*pass(?:word|file))(\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&#'\",;]+?(?=:?(?:[\s&#'\",;]|$)))",
            re.IGNORECASE,
        ),
        r"\1\2***",
    ),
)

_NOT_SECRET_SEGMENTS = frozenset({"services", "api", "hooks", "webhook", "webhooks"})


def secret_parts(value: str | None) -> tuple[str, ...]:
    """A configured secret and the pieces of it that are secret on their own.

    For a URL (a Slack webhook, a relay in front of it) that is the URL, its path, and each path segment of 6 or
    more characters (Slack's T…, B… and secret parts): a relay may echo any of them, alone.
    """
    if not value:
        return ()
    parts = [value]
    match = re.match(r"^[a-z][a-z0-9+.-]*://[^/?#]*(/[^?#]*)", value, re.IGNORECASE)
    if match and len(match.group(1)) > 1:
        path = match.group(1)
        parts.append(path)
        parts.extend(s for s in path.split("/") if len(s) >= 6 and s.lower() not in _NOT_SECRET_SEGMENTS)
    return tuple(parts)


def mask_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every secret replaced by ***: the configured `secrets` given (webhook URL, bot token — each
    with its secret parts, see `secret_parts`), and anything shaped like one (webhook paths, Slack tokens,
    passwords in URLs, query strings and libpq keyword strings)."""
    exact = {part for secret in secrets for part in secret_parts(secret) if len(part) >= 6}
    for part in sorted(exact, key=len, reverse=True):  # the whole URL before its pieces
        text = text.replace(part, MASK)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask_url(url: str) -> str:
    """A URL safe to print or log (password, password query keys, webhook path masked)."""
    return mask_secrets(url)


# --- one line per error -------------------------------------------------------------------------------------------


def error_line(exc: BaseException, *, with_type: bool = False) -> str:
    """One line saying what went wrong, secrets masked: fit to print, log, or store.

    A database error speaks through the driver's message (`exc.orig`), without SQLAlchemy's echo of the statement
    and its parameters. `with_type` names the error's class first (`UndefinedTable: relation … does not exist`),
    for texts stored per client, except for a CampaignOpsError, whose message is written for operators already.
    """
    orig = getattr(exc, "orig", None)
    source = orig if isinstance(orig, BaseException) else exc
    lines = str(source).strip().splitlines()
    message = lines[0] if lines else ""
    if not with_type:
        return mask_secrets(message or type(exc).__name__)
    if message and isinstance(source, CampaignOpsError):
        return mask_secrets(message)
    name = type(source).__name__
    return mask_secrets(f"{name}: {message}" if message else name)
