"""Campaign counters after a pass match the leads by the SOP's definitions, whoever wrote the opt-outs: a platform
that only flips `opted_out` / `booked_meeting` (as the SOP's schema allows) leaves no drift behind a pass."""

import pytest
from sqlalchemy import Connection, Engine, text

from bench.sop_queries import SOP_STATS_DRIFT, SOP_STATS_MATCH
from campaign_ops_tests.de_enrollment.conftest import run
from campaign_ops_tests.factories import add_campaign, add_client, add_lead


def campaign_with_platform_opt_outs(conn: Connection, opt_outs: int, bookings: int) -> tuple[str, str]:
    """A client's campaign of 60 leads in progress with right counters; then the platform flips `opted_out` on
    `opt_outs` of them and `booked_meeting` on `bookings`, touching no counter."""
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=5)
    leads = [add_lead(conn, client, campaign, position=1) for _ in range(60)]
    conn.execute(text("SELECT refresh_campaign_counters(ARRAY[CAST(:c AS uuid)])"), {"c": campaign})
    conn.commit()
    conn.execute(
        text("UPDATE leads SET opted_out = true WHERE id = ANY (CAST(:ids AS uuid[]))"), {"ids": leads[:opt_outs]}
    )
    conn.execute(
        text("UPDATE leads SET booked_meeting = true WHERE id = ANY (CAST(:ids AS uuid[]))"),
        {"ids": leads[opt_outs : opt_outs + bookings]},
    )
    conn.commit()
    return client, campaign


def counters(conn: Connection, campaign: str) -> tuple[int, int, int, int]:
    row = conn.execute(
        text(
            "SELECT active_leads_count, completed_leads_count, opted_out_count, booked_count FROM campaigns"
            " WHERE id = :c"
        ),
        {"c": campaign},
    ).one()
    conn.commit()
    return tuple(row)  # type: ignore[return-value]


@pytest.mark.parametrize("mode", ["set_based", "batched"])
def test_after_a_pass_the_campaigns_it_touched_match_their_leads(conn: Connection, engine: Engine, mode: str) -> None:
    # three clients: the first is worked on its own, the others together in a group (the sweep's two paths)
    made = [campaign_with_platform_opt_outs(conn, opt_outs=10 + i, bookings=2) for i in range(3)]
    result = run(engine, *(client for client, _ in made), mode=mode)
    assert {r.status for r in result.clients} == {"success"}
    for i, (_, campaign) in enumerate(made):
        # 60 leads: 10+i opted out and 2 booked de-enrolled; the rest active; both SOP definitions of active agree
        assert counters(conn, campaign) == (60 - 12 - i, 0, 10 + i, 2)
    assert conn.execute(text(SOP_STATS_MATCH)).all() == []
    assert conn.execute(text(SOP_STATS_DRIFT)).all() == []
    # what the pass corrected beyond its own moves is on record, as a reconciliation's corrections are
    logged = conn.execute(
        text(
            "SELECT campaign_id::text, counter, reported, actual FROM stats_reconciliation_log"
            " ORDER BY campaign_id, counter"
        )
    ).all()
    expected = sorted(
        (campaign, counter, reported, actual)
        for i, (_, campaign) in enumerate(made)
        for counter, reported, actual in (
            ("active_leads_count", 60 - 2, 60 - 12 - i),
            ("opted_out_count", 0, 10 + i),
            ("booked_count", 0, 2),
        )
    )
    assert sorted(tuple(r) for r in logged) == expected


def test_a_pass_with_nothing_to_correct_logs_nothing(conn: Connection, engine: Engine) -> None:
    client, campaign = campaign_with_platform_opt_outs(conn, opt_outs=0, bookings=0)
    add_lead(conn, client, campaign, position=5)  # due: its sequence is over
    conn.execute(text("SELECT refresh_campaign_counters(ARRAY[CAST(:c AS uuid)])"), {"c": campaign})
    conn.commit()
    result = run(engine, client)
    assert result.clients[0].leads_de_enrolled == 1
    assert counters(conn, campaign) == (60, 1, 0, 0)
    assert conn.execute(text("SELECT count(*) FROM stats_reconciliation_log")).scalar_one() == 0
