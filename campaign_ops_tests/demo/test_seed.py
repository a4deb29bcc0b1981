from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text

from campaign_ops.demo.seed import seed_demo_data
from campaign_ops.errors import ConfigError
from campaign_ops.onboarding.core import detect_stuck_clients

AS_OF = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CONTENT_HASH = """
SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
  SELECT row(l.*)::text AS t FROM leads l
  UNION ALL SELECT row(c.*)::text FROM campaigns c
  UNION ALL SELECT row(k.*)::text FROM clients k) x
"""


def test_same_seed_gives_the_same_data(engine, conn: Connection) -> None:
    seed_demo_data(conn, clients=4, campaigns_per_client=3, leads=2000, seed=11, as_of=AS_OF)
    first = conn.execute(text(CONTENT_HASH)).scalar()
    seed_demo_data(conn, clients=4, campaigns_per_client=3, leads=2000, seed=11, as_of=AS_OF)
    assert conn.execute(text(CONTENT_HASH)).scalar() == first
    assert conn.execute(text("SELECT count(*) FROM leads")).scalar() == 2000


def test_another_seed_gives_other_data(conn: Connection) -> None:
    seed_demo_data(conn, clients=2, campaigns_per_client=2, leads=200, seed=1, as_of=AS_OF)
    a = conn.execute(text(CONTENT_HASH)).scalar()
    conn.execute(text("TRUNCATE leads, campaigns, clients CASCADE"))
    seed_demo_data(conn, clients=2, campaigns_per_client=2, leads=200, seed=2, as_of=AS_OF)
    assert conn.execute(text(CONTENT_HASH)).scalar() != a


def test_seed_has_the_realistic_mix_and_consistent_counters(conn: Connection) -> None:
    s = seed_demo_data(conn, clients=5, campaigns_per_client=4, leads=10000, seed=3, as_of=AS_OF)
    assert (s.clients, s.inactive_clients, s.campaigns, s.leads) == (5, 1, 20, 10000)
    # 25% completable, 5% opted out, 5% booked, 20% completed among the active clients' leads (the inactive
    # client's 20% of leads were paused in progress: nothing of theirs waits for de-enrollment)
    assert 1800 < s.completable < 2200
    assert 300 < s.opted_out_waiting < 500
    assert 300 < s.booked_waiting < 500
    assert 1400 < s.already_completed < 1800
    waiting_in_inactive = conn.execute(
        text(
            "SELECT count(*) FROM leads l JOIN clients c ON c.id = l.client_id"
            " JOIN campaigns k ON k.id = l.campaign_link_id"
            " WHERE NOT c.is_active AND l.is_active AND (l.opted_out OR l.booked_meeting"
            " OR l.current_message_position >= jsonb_array_length(k.messages))"
        )
    ).scalar()
    assert waiting_in_inactive == 0
    # counters already equal what the leads say: a refresh changes nothing
    changed = conn.execute(text("SELECT refresh_campaign_counters(array_agg(id)) FROM campaigns")).scalar()
    assert changed == 0
    assert (
        conn.execute(text("SELECT sum(active_leads_count) FROM campaigns")).scalar()
        == conn.execute(text("SELECT count(*) FROM leads WHERE is_active AND NOT opted_out")).scalar()
    )


def test_seed_rejects_bad_sizes(conn: Connection) -> None:
    with pytest.raises(ConfigError):
        seed_demo_data(conn, clients=0, campaigns_per_client=1, leads=1, seed=1)


def test_clients_above_999_get_names_of_their_own(conn: Connection) -> None:
    seed_demo_data(conn, clients=1001, campaigns_per_client=1, leads=1001, seed=5, as_of=AS_OF)
    names = conn.execute(text("SELECT company_name FROM clients")).scalars().all()
    assert len(set(names)) == 1001
    assert {"Demo Client 003", "Demo Client 100", "Demo Client 1000", "Demo Client 1001"} <= set(names)


def test_ten_thousand_clients_seed_with_a_phone_number_each(conn: Connection) -> None:
    seed_demo_data(conn, clients=10_000, campaigns_per_client=1, leads=10_000, seed=5, as_of=AS_OF)
    phones = conn.execute(text("SELECT count(DISTINCT phone_number), count(*) FROM clients")).one()
    assert tuple(phones) == (10_000, 10_000)


def test_a_demo_at_scale_shows_the_same_handful_of_stuck_onboarding_clients(conn: Connection) -> None:
    """The onboarding scenarios cycle over the first ten clients: a thousand demo clients are not hundreds of stuck
    clients (and alerts) on the first check."""
    stuck = {}
    for clients in (10, 1000):
        seed_demo_data(conn, clients=clients, campaigns_per_client=1, leads=clients, seed=5, as_of=AS_OF)
        report = detect_stuck_clients(conn, now=AS_OF + timedelta(minutes=1), stamp=False)
        stuck[clients] = sorted(c.client_id for c in report.clients)
    assert len(stuck[10]) == 6  # S2 twice (MEDIUM), S5 and S9 twice each (HIGH): every scenario of the SOP
    assert stuck[1000] == stuck[10]
