"""Compliance evidence: nobody is messaged after they said stop, and each lead's history proves it.

- A message sent after revocation (the platform advancing `current_message_position` on a lead that had opted out
  or was no longer active) is recorded as it happens by a trigger on leads
  (sql/objects/compliance_record_send_after_revocation.sql) in
  `compliance_sends_after_revocation`; `messages_after_opt_out` fails (ERROR) while any was recorded in the last
  day, naming the clients and the leads.
- `unhonored_opt_outs`: the oldest opt-out still not honored (its lead still active), per client: WARN past 5
  minutes, ERROR past 1 hour (campaign_ops.thresholds), because a p95 hides the one lead that waited a day.

Plain functions over a connection; the Dagster checks (defs.py) and the CLI call the same ones.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import phonenumbers
from sqlalchemy import Connection

from campaign_ops import thresholds as sop
from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.check_kit.outcome import CheckOutcome, Figures, Level, level_for
from campaign_ops.clients.scope import require_clients, resolve_scope
from campaign_ops.errors import ConfigError
from campaign_ops.sqlfiles import load_sql

# leads named per client in a failing evaluation's findings (all of them are in its table)
LEADS_NAMED_PER_CLIENT = 10


# --- messages sent after revocation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendAfterRevocation:
    id: int
    lead_id: str
    client_id: str
    campaign_id: str | None
    old_position: int
    new_position: int
    sent_at: datetime
    revoked_as: str
    revoked_at: datetime | None
    seconds_after: float | None


@dataclass(frozen=True)
class SendsAfterRevocationResult(CheckOutcome):
    """Every message recorded as sent after revocation in the window: any is an ERROR (each can cost $500-1,500
    under the TCPA), the clients and leads named."""

    sends: list[SendAfterRevocation]
    window_hours: int
    sample_size: int = 50
    name: str = "messages_after_opt_out"

    @property
    def level(self) -> Level:
        return Level.ERROR if self.sends else Level.PASSED

    @property
    def summary(self) -> str:
        if not self.sends:
            return f"no message sent after an opt-out or de-enrollment in the last {self.window_hours} h"
        leads = len({s.lead_id for s in self.sends})
        clients = len({s.client_id for s in self.sends})
        return (
            f"{len(self.sends)} message(s) sent after revocation to {leads} lead(s) in {clients} client(s) in the "
            f"last {self.window_hours} h: the platform sent to leads that opted out or were de-enrolled; stop the "
            "client's sending and see `campaign-ops lead history --lead-id <lead>`"
        )

    def figures(self) -> Figures:
        return {
            "messages_after_revocation": len(self.sends),
            "leads_messaged_after_revocation": len({s.lead_id for s in self.sends}),
            "clients_messaging_after_revocation": len({s.client_id for s in self.sends}),
        }

    def tables(self) -> dict[str, str]:
        rows = [
            (
                s.client_id,
                s.lead_id,
                s.campaign_id,
                f"{s.old_position} -> {s.new_position}",
                s.sent_at,
                s.revoked_as,
                s.revoked_at,
                None if s.seconds_after is None else round(s.seconds_after, 1),
            )
            for s in self.sends[: self.sample_size]
        ]
        return {
            "sends_after_revocation_list": markdown_table(
                ("client", "lead", "campaign", "position", "sent at", "lead was", "revoked at", "seconds after"), rows
            )
        }

    def client_findings(self) -> dict[str, dict[str, Any]]:
        by_client: dict[str, list[SendAfterRevocation]] = {}
        for s in self.sends:
            by_client.setdefault(s.client_id, []).append(s)
        findings: dict[str, dict[str, Any]] = {}
        for client, sends in sorted(by_client.items()):
            leads = sorted({s.lead_id for s in sends})
            # "problems": the lines the alert and the check's description carry for this client
            named = [f"lead {lead}" for lead in leads[:LEADS_NAMED_PER_CLIENT]]
            if len(leads) > LEADS_NAMED_PER_CLIENT:
                named.append(f"{len(leads) - LEADS_NAMED_PER_CLIENT} more leads")
            findings[client] = {
                "messages_after_revocation": len(sends),
                "leads_messaged": len(leads),
                "problems": named,
                "level": Level.ERROR.value,
            }
        return findings


def evaluate_messages_after_opt_out(
    conn: Connection,
    client_ids: Sequence[str] | None = None,
    window_hours: int = sop.SENDS_AFTER_REVOCATION_WINDOW_HOURS,
) -> SendsAfterRevocationResult:
    """The messages recorded as sent after revocation in the last `window_hours` (every client's by default)."""
    if window_hours <= 0:
        raise ConfigError(f"window_hours must be positive, got {window_hours}")
    scope = resolve_scope(conn, client_ids)
    rows = conn.execute(
        load_sql(__file__, "sends_after_revocation.sql"), {"client_ids": scope, "window_hours": window_hours}
    )
    return SendsAfterRevocationResult(
        sends=[SendAfterRevocation(**r._asdict()) for r in rows], window_hours=window_hours
    )


# --- the oldest opt-out not honored -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnhonoredThresholds:
    warn_above_seconds: float = sop.UNHONORED_OPT_OUT_WARN_ABOVE_SECONDS
    error_above_seconds: float = sop.UNHONORED_OPT_OUT_ERROR_ABOVE_SECONDS

    def __post_init__(self) -> None:
        if not 0 <= self.warn_above_seconds <= self.error_above_seconds:
            raise ConfigError(
                f"unhonored opt-out lines must satisfy 0 <= warn ({self.warn_above_seconds}) <= error "
                f"({self.error_above_seconds})"
            )


@dataclass(frozen=True)
class ClientUnhonored:
    client_id: str
    waiting: int
    oldest_lead_id: str
    oldest_seen_at: datetime
    oldest_waiting_s: float


@dataclass(frozen=True)
class UnhonoredOptOutsResult(CheckOutcome):
    """The worst case, not a percentile: the opt-out waiting longest to be honored, per client."""

    thresholds: UnhonoredThresholds
    clients: list[ClientUnhonored]
    name: str = "unhonored_opt_outs"

    def _level(self, seconds: float) -> Level:
        t = self.thresholds
        return level_for(seconds, warn_above=t.warn_above_seconds, error_above=t.error_above_seconds)

    @property
    def oldest_s(self) -> float:
        return max((c.oldest_waiting_s for c in self.clients), default=0.0)

    @property
    def level(self) -> Level:
        return self._level(self.oldest_s)

    @property
    def summary(self) -> str:
        t = self.thresholds
        lines = f"warn above {t.warn_above_seconds:g} s, error above {t.error_above_seconds:g} s"
        if not self.clients:
            return f"every opt-out is honored (no opted-out lead still active; {lines})"
        oldest = min(self.clients, key=lambda c: c.oldest_seen_at)
        waiting = sum(c.waiting for c in self.clients)
        return (
            f"{waiting} opt-out(s) not honored yet in {len(self.clients)} client(s); the oldest, lead "
            f"{oldest.oldest_lead_id}, has waited {oldest.oldest_waiting_s:.0f} s since "
            f"{oldest.oldest_seen_at.isoformat(timespec='seconds')} ({lines})"
        )

    def figures(self) -> Figures:
        return {
            "oldest_unhonored_opt_out_s": round(self.oldest_s, 1),
            "unhonored_opt_outs": sum(c.waiting for c in self.clients),
        }

    def tables(self) -> dict[str, str]:
        rows = [
            (c.client_id, c.waiting, c.oldest_lead_id, c.oldest_seen_at, round(c.oldest_waiting_s, 1))
            for c in sorted(self.clients, key=lambda c: -c.oldest_waiting_s)
        ]
        return {
            "unhonored_opt_outs_by_client": markdown_table(
                ("client", "waiting", "oldest lead", "opt-out seen at", "waiting s"), rows
            )
        }

    def client_findings(self) -> dict[str, dict[str, Any]]:
        return {
            c.client_id: {
                "unhonored_opt_outs": c.waiting,
                "oldest_lead": c.oldest_lead_id,
                "oldest_waiting_s": round(c.oldest_waiting_s, 1),
                "level": self._level(c.oldest_waiting_s).value,
            }
            for c in self.clients
            if self._level(c.oldest_waiting_s) != Level.PASSED
        }


def evaluate_unhonored_opt_outs(
    conn: Connection, client_ids: Sequence[str] | None = None, thresholds: UnhonoredThresholds | None = None
) -> UnhonoredOptOutsResult:
    """Per client, the opt-outs still waiting to be honored and the oldest of them."""
    scope = resolve_scope(conn, client_ids)
    rows = conn.execute(load_sql(__file__, "unhonored_opt_outs.sql"), {"client_ids": scope})
    return UnhonoredOptOutsResult(
        thresholds=thresholds or UnhonoredThresholds(), clients=[ClientUnhonored(**r._asdict()) for r in rows]
    )


# --- a revocation covers the person ------------------------------------------------------------------------------


def revoke_person(conn: Connection, client_ids: Sequence[str], run_ids: Sequence[str]) -> dict[str, int]:
    """In the caller's transaction, before the pass's de-enrollment statement: de-enroll every other active
    enrollment of each person (same E.164 phone or same email, same client) whose opt-out the pass is about to
    honor, unless the client's setting narrows revocation to the one lead. Returns the leads revoked per client,
    for the pass's de-enrollment statement to add to the client's run row."""
    rows = conn.execute(
        load_sql(__file__, "revoke_person.sql"), {"client_ids": list(client_ids), "run_ids": list(run_ids)}
    )
    return {r.client_id: int(r.revoked) for r in rows}


# --- each lead's history is evidence ------------------------------------------------------------------------------

EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def phone_region(conn: Connection) -> str:
    """The default region national phone formats are read with (US unless set)."""
    return str(conn.execute(load_sql(__file__, "phone_region.sql")).scalar_one())


def normalize_phone(raw: str, region: str) -> str:
    """`raw` in E.164 (national formats read as `region`'s), or one clear ConfigError line."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ConfigError(f"--phone {raw!r} is not a phone number ({exc})") from None
    if not phonenumbers.is_possible_number(number):
        raise ConfigError(f"--phone {raw!r} is not a possible phone number (read as {region} when national)")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    if not EMAIL_SHAPE.match(email):
        raise ConfigError(f"--email {raw!r} is not an email address")
    return email


def normalize_lead_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        raise ConfigError(f"--lead-id {raw!r} is not a uuid") from None


@dataclass
class LeadHistory:
    """One lead of the person asked for: its row as it is now and everything recorded about it, oldest first."""

    lead: dict[str, Any]
    events: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        """The evidence a reviewer asks for: when the revocation was first seen, when and by which run it was
        honored, how long that took, restores and operators' decisions, and every send after revocation."""
        de_enrolled = [e for e in self.events if e["source"] == "lead_log" and e["what"] == "de_enrolled"]
        last = de_enrolled[-1] if de_enrolled else None
        pending = next((e for e in self.events if e["source"] == "due_queue"), None)
        # the lead-log row carries it once the run settled the queue; until then the queue still has it
        seen = (last["seen_at"] if last else None) or (pending["seen_at"] if pending else None)
        latency = (last["at"] - seen).total_seconds() if last and seen else None
        return {
            "revocation": last["outcome"] if last else ("pending" if pending else None),
            "first_seen_at": seen,
            "de_enrolled_at": last["at"] if last else None,
            "de_enrolled_by_run": last["run_id"] if last else None,
            "dagster_run_id": last["dagster_run_id"] if last else None,
            "latency_s": latency,
            "reason": last["note"] if last else None,
            "decisions": [e for e in self.events if e["what"] in ("restored", "resolved", "skipped")],
            "sends_after_revocation": [e for e in self.events if e["source"] == "send_after_revocation"],
        }


def lead_history(
    conn: Connection,
    *,
    lead_id: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    client_ids: Sequence[str] | None = None,
) -> list[LeadHistory]:
    """Every lead of the person asked for (one lead id and its person's other leads with that client, or a phone, or
    an email), each with its history from the live and archived lead logs, the sends after revocation and the due
    queue. Index look-ups only: the time does not grow with the client's leads."""
    given = [x for x in (lead_id, phone, email) if x is not None]
    if len(given) != 1:
        raise ConfigError("give exactly one of --lead-id, --phone, --email")
    params: dict[str, Any] = {"lead_id": None, "phone": None, "email": None, "client_ids": None}
    if lead_id is not None:
        params["lead_id"] = normalize_lead_id(lead_id)
    elif phone is not None:
        params["phone"] = normalize_phone(phone, phone_region(conn))
    elif email is not None:
        params["email"] = normalize_email(email)
    if client_ids:
        params["client_ids"] = require_clients(conn, client_ids, active=False)
    leads = [dict(r._mapping) for r in conn.execute(load_sql(__file__, "history_leads.sql"), params)]
    events: dict[str, list[dict[str, Any]]] = {lead["lead_id"]: [] for lead in leads}
    if leads:
        rows = conn.execute(load_sql(__file__, "history_events.sql"), {"lead_ids": list(events)})
        for row in rows:
            events[row.lead_id].append(dict(row._mapping))
    epoch = datetime.min.replace(tzinfo=UTC)
    return [
        LeadHistory(
            lead=lead,
            events=sorted(
                events[lead["lead_id"]],
                key=lambda e: (e["at"] or e["seen_at"] or epoch, e["source"] != "lead_log", e["event_id"] or 0),
            ),
        )
        for lead in leads
    ]


def set_phone_region(conn: Connection, region: str) -> int:
    """Read national phone formats as `region`'s from now on, and normalize the stored ones again (set-based);
    returns how many changed. One ConfigError line for a region phonenumbers does not know."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"unknown phone region {region!r} (an ISO 3166 code such as US, GB, DE)")
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(code)
    prefix = (metadata.national_prefix if metadata is not None else None) or ""
    params = {
        "region": code,
        "calling_code": str(phonenumbers.country_code_for_region(code)),
        "national_prefix": prefix,
    }
    return int(conn.execute(load_sql(__file__, "set_phone_region.sql"), params).scalar_one())


def set_revoke_all(conn: Connection, client_id: str, on: bool, reason: str, by: str | None) -> None:
    """Whether an opt-out ends every active enrollment of the person with this client (on by default)."""
    if not reason.strip():
        raise ConfigError("--reason must say why")
    [client] = require_clients(conn, [client_id], active=False)
    conn.execute(load_sql(__file__, "set_revoke_all.sql"), {"client_id": client, "on": on, "reason": reason, "by": by})


# --- the monthly compliance report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientMonth:
    client_id: str
    client_name: str
    opt_outs_honored: int
    other_enrollments_revoked: int
    p50_s: float | None
    p95_s: float | None
    max_s: float | None
    sends_after_revocation: int
    leads_messaged_after_revocation: int


@dataclass(frozen=True)
class ComplianceReport:
    """One month, per client: opt-outs honored, time to honor (p50/p95/max), sends after revocation."""

    month: date
    clients: list[ClientMonth]

    def figures(self) -> Figures:
        worst = [c.max_s for c in self.clients if c.max_s is not None]
        return {
            "opt_outs_honored": sum(c.opt_outs_honored for c in self.clients),
            "other_enrollments_revoked": sum(c.other_enrollments_revoked for c in self.clients),
            "max_time_to_honor_s": round(max(worst), 1) if worst else 0.0,
            "sends_after_revocation": sum(c.sends_after_revocation for c in self.clients),
            "clients_with_sends_after_revocation": sum(1 for c in self.clients if c.sends_after_revocation),
        }

    def tables(self) -> dict[str, str]:
        def s(v: float | None) -> float | None:
            return None if v is None else round(v, 1)

        rows = [
            (
                c.client_name,
                c.client_id,
                c.opt_outs_honored,
                c.other_enrollments_revoked,
                s(c.p50_s),
                s(c.p95_s),
                s(c.max_s),
                c.sends_after_revocation,
                c.leads_messaged_after_revocation,
            )
            for c in self.clients
        ]
        headers = (
            "client",
            "id",
            "opt-outs honored",
            "other enrollments revoked",
            "p50 s",
            "p95 s",
            "max s",
            "sends after revocation",
            "leads messaged after",
        )
        return {"compliance_by_client": markdown_table(headers, rows)}

    def markdown(self) -> str:
        return f"# Compliance report {self.month:%Y-%m}\n\n" + self.tables()["compliance_by_client"]


def month_bounds(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def monthly_compliance_report(conn: Connection, month: date) -> ComplianceReport:
    """The month's figures per client (UTC calendar month), from the live and archived evidence."""
    start, end = month_bounds(month)
    rows = conn.execute(
        load_sql(__file__, "monthly_report.sql"), {"month_start": f"{start} 00:00+00", "month_end": f"{end} 00:00+00"}
    )
    return ComplianceReport(month=start, clients=[ClientMonth(**r._asdict()) for r in rows])
