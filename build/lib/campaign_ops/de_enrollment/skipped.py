"""Operators' decisions on skipped leads: a lead due again although its enrollment was already de-enrolled is left
as it is by the pass and recorded `skipped`; an operator then says whether it is a new enrollment or stays
de-enrolled (`campaign-ops resolve-skipped`)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection

from campaign_ops.errors import CampaignOpsError, ConfigError
from campaign_ops.sqlfiles import load_sql

Decision = Literal["new-enrollment", "de-enrolled"]


class NotPendingError(CampaignOpsError):
    """A lead given to resolve has no skipped de-enrollment waiting for a decision."""


@dataclass(frozen=True)
class PendingLead:
    """A lead due again although its enrollment was already de-enrolled: left as it is, recorded `skipped`."""

    lead_id: str
    client_id: str
    campaign_id: str | None
    enrolled_at: object
    skipped_by_run: str | None
    skipped_at: object
    reason: str | None


def pending_skipped(conn: Connection, lead_ids: Sequence[str] | None = None) -> list[PendingLead]:
    """The leads waiting for an operator's decision (all, or among `lead_ids`)."""
    rows = conn.execute(load_sql(__file__, "pending_skipped.sql"), {"lead_ids": list(lead_ids) if lead_ids else None})
    return [PendingLead(**r._asdict()) for r in rows]


def _lead_ids(values: Sequence[str]) -> list[str]:
    ids = []
    for value in values:
        try:
            ids.append(str(uuid.UUID(str(value).strip())))
        except ValueError:
            raise ConfigError(f"lead id {value!r} is not a uuid") from None
    if not ids:
        raise ConfigError("give at least one --lead-id")
    return sorted(set(ids))


def resolve_skipped(
    conn: Connection, lead_ids: Sequence[str], decision: Decision, *, reason: str, by: str
) -> list[PendingLead]:
    """Record an operator's decision on skipped leads, in one transaction (all or nothing); commits.

    - "new-enrollment": a `restored` entry re-opens each enrollment; the next pass de-enrolls the lead again
      with a new lead-log row (the duplicate check sees a new event).
    - "de-enrolled": each lead is put back as its earlier de-enrollment left it (inactive) and a `resolved`
      entry closes the enrollment; campaign counters are recomputed.
    Every entry's error_message says who decided and why. A lead with nothing pending refuses the whole call.
    """
    ids = _lead_ids(lead_ids)
    if decision not in ("new-enrollment", "de-enrolled"):
        raise ConfigError(f"decision must be 'new-enrollment' or 'de-enrolled', got {decision!r}")
    reason, by = (reason or "").strip(), (by or "").strip()
    if not reason:
        raise ConfigError("a reason is required (it is recorded in the lead log)")
    if not by:
        raise ConfigError("who decides is required (--by)")
    if conn.in_transaction():
        conn.rollback()
    with conn.begin():
        conn.execute(load_sql(__file__, "lock_leads.sql"), {"lead_ids": ids})
        pending = pending_skipped(conn, ids)
        missing = sorted(set(ids) - {p.lead_id for p in pending})
        if missing:
            raise NotPendingError(
                f"no skipped de-enrollment waiting for a decision on lead(s) {', '.join(missing)}; nothing changed"
            )
        if decision == "new-enrollment":
            note = f"resolved as a new enrollment by {by}: {reason}"
            conn.execute(load_sql(__file__, "resolve_reopen.sql"), {"lead_ids": ids, "note": note})
        else:
            note = f"put back to de-enrolled by {by}: {reason}"
            campaigns = conn.execute(
                load_sql(__file__, "resolve_close.sql"), {"lead_ids": ids, "note": note}
            ).scalar_one()
            if campaigns:
                conn.execute(load_sql(__file__, "refresh_counters.sql"), {"campaign_ids": list(campaigns)})
    return pending
