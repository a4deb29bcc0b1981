"""The stuck-lead rule's one home, the view stuck_leads (sql/objects/stuck_leads.sql): the SOP's own query is its
oracle."""

from datetime import UTC, datetime

from sqlalchemy import Connection, text

from bench.sop_queries import SOP_STUCK_LEADS
from campaign_ops_tests.factories import add_campaign, add_client, add_lead


def test_the_view_counts_what_the_sops_query_counts(conn: Connection) -> None:
    client, inactive = add_client(conn), add_client(conn, active=False)
    campaign, other = add_campaign(conn, client, messages=3), add_campaign(conn, inactive, messages=2)
    stuck = {add_lead(conn, client, campaign, position=p) for p in (3, 4)} | {
        add_lead(conn, inactive, other, position=2)
    }
    add_lead(conn, client, campaign, position=2)  # not at the end yet
    add_lead(conn, client, campaign, position=3, active=False)  # de-enrolled
    add_lead(conn, client, campaign, position=3, completed_at=datetime(2025, 1, 1, tzinfo=UTC))  # completed
    add_lead(conn, client, None, position=9)  # in no campaign
    view = {str(r.lead_id) for r in conn.execute(text("SELECT lead_id FROM stuck_leads"))}
    assert view == stuck  # every client's, inactive ones too: callers scope it
    assert conn.execute(text(SOP_STUCK_LEADS)).scalar_one() == len(view) == 3
    row = conn.execute(text("SELECT * FROM stuck_leads WHERE position = 4")).one()
    assert (str(row.client_id), str(row.campaign_id), row.sequence_length) == (client, campaign, 3)


def test_a_campaign_whose_messages_is_not_an_array_decides_nothing(conn: Connection) -> None:
    # a legacy database's campaigns (adopted, not created by 0001) have no constraint keeping messages an array
    conn.execute(text("ALTER TABLE campaigns DROP CONSTRAINT campaigns_messages_is_array"))
    client = add_client(conn)
    legacy = add_campaign(conn, client)
    conn.execute(text("""UPDATE campaigns SET messages = '{"steps": 3}' WHERE id = :c"""), {"c": legacy})
    add_lead(conn, client, legacy, position=99)
    assert conn.execute(text("SELECT count(*) FROM stuck_leads")).scalar_one() == 0
    # a condition on the sequence length pushed down to the campaigns does not raise either
    assert conn.execute(text("SELECT count(*) FROM stuck_leads WHERE sequence_length > 0")).scalar_one() == 0
