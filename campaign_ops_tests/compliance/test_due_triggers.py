"""The due queue's triggers decide on the row (sql/objects/de_enrollment_mark_due.sql): the lead carries its
campaign's sequence length, kept
on write, so an ordinary send to an active lead runs no trigger function, and the leads still become due as
before (a campaign shortened under its leads now marks them too)."""

import json

from sqlalchemy import Connection, text

from campaign_ops_tests.factories import add_campaign, add_client, add_lead


def length(conn: Connection, lead: str) -> int | None:
    return conn.execute(text("SELECT campaign_sequence_length FROM leads WHERE id = :i"), {"i": lead}).scalar()


def queued(conn: Connection) -> set[str]:
    return {str(x) for x in conn.execute(text("SELECT lead_id FROM de_enrollment_due_queue")).scalars()}


def test_the_length_follows_the_lead_and_its_campaign(conn: Connection) -> None:
    client = add_client(conn)
    three, five = add_campaign(conn, client, messages=3), add_campaign(conn, client, messages=5)
    lead = add_lead(conn, client, three, position=1)
    none = add_lead(conn, client, None)
    conn.commit()
    assert (length(conn, lead), length(conn, none)) == (3, None)
    conn.execute(text("UPDATE leads SET campaign_link_id = :c WHERE id = :i"), {"c": five, "i": lead})
    conn.commit()
    assert length(conn, lead) == 5
    conn.execute(
        text("UPDATE campaigns SET messages = CAST(:m AS jsonb) WHERE id = :c"),
        {"m": json.dumps(["a", "b", "c", "d"]), "c": five},
    )
    conn.commit()
    assert length(conn, lead) == 4


def test_leads_become_due_as_before_and_when_their_campaign_is_shortened(conn: Connection) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=3)
    sending = add_lead(conn, client, campaign, position=1)
    shortened = add_lead(conn, client, campaign, position=2)
    conn.commit()
    conn.execute(text("UPDATE leads SET current_message_position = 2 WHERE id = :i"), {"i": sending})
    conn.commit()
    assert queued(conn) == set()  # not at the end yet
    conn.execute(text("UPDATE leads SET current_message_position = 3 WHERE id = :i"), {"i": sending})
    conn.commit()
    assert queued(conn) == {sending}
    conn.execute(
        text("UPDATE campaigns SET messages = CAST(:m AS jsonb) WHERE id = :c"),
        {"m": json.dumps(["a", "b"]), "c": campaign},
    )
    conn.commit()
    assert queued(conn) == {sending, shortened}


def test_an_ordinary_send_runs_no_trigger_function(conn: Connection) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=5)
    lead = add_lead(conn, client, campaign, position=1)
    conn.commit()
    plan = "\n".join(
        conn.execute(
            text(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)"
                " UPDATE leads SET current_message_position = current_message_position + 1 WHERE id = :i"
            ),
            {"i": lead},
        ).scalars()
    )
    conn.rollback()
    assert "Trigger" not in plan, plan
