"""Reproducible, realistic demo data, generated inside PostgreSQL (set-based: no rows travel through Python)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from campaign_ops.errors import ConfigError
from campaign_ops.sqlfiles import load_sql


@dataclass(frozen=True)
class SeedSummary:
    clients: int
    inactive_clients: int
    campaigns: int
    leads: int
    completable: int
    opted_out_waiting: int
    booked_waiting: int
    already_completed: int


def seed_demo_data(
    conn: Connection,
    *,
    clients: int,
    campaigns_per_client: int,
    leads: int,
    seed: int,
    as_of: datetime | None = None,
) -> SeedSummary:
    """Replace the demo clients of `seed` with fresh data; the same arguments give the same rows.

    Runs in the caller's transaction. `as_of` anchors every timestamp (default: now).
    """
    if clients < 1 or clients > 10000:
        raise ConfigError("--clients must be between 1 and 10000")
    if campaigns_per_client < 1:
        raise ConfigError("--campaigns-per-client must be at least 1")
    if leads < 0:
        raise ConfigError("--leads must not be negative")
    params = {
        "seed": str(seed),
        "clients": clients,
        "campaigns_per_client": campaigns_per_client,
        "leads": leads,
        "as_of": as_of or datetime.now(UTC),
    }
    conn.execute(load_sql(__file__, "remove_demo_data.sql"), params)
    conn.execute(load_sql(__file__, "seed_clients_campaigns.sql"), params)
    conn.execute(load_sql(__file__, "seed_leads.sql"), params)
    conn.execute(load_sql(__file__, "seed_onboarding_lifecycle.sql"), params)
    client_ids = list(conn.execute(load_sql(__file__, "seeded_client_ids.sql"), params).scalars())
    conn.execute(load_sql(__file__, "refresh_counters.sql"), {"ids": client_ids})
    conn.execute(load_sql(__file__, "analyze.sql"))
    return summarise(conn, client_ids)


def summarise(conn: Connection, client_ids: list) -> SeedSummary:
    row = conn.execute(load_sql(__file__, "summarise.sql"), {"ids": client_ids}).one()
    return SeedSummary(*row)
