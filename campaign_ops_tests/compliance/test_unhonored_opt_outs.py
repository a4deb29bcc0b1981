"""The oldest opt-out still not honored: WARN past 5 minutes, ERROR past 1 hour, the worst lead named."""

from sqlalchemy import Connection, text

from campaign_ops.check_kit.outcome import Level
from campaign_ops.compliance.core import UnhonoredThresholds, evaluate_unhonored_opt_outs
from campaign_ops_tests.factories import add_campaign, add_client, add_lead


def seen_ago(conn: Connection, lead: str, minutes: float) -> None:
    conn.execute(
        text("UPDATE de_enrollment_due_queue SET due_since = now() - make_interval(secs => :s) WHERE lead_id = :i"),
        {"s": minutes * 60, "i": lead},
    )
    conn.commit()


def test_the_oldest_opt_out_decides_the_level(conn: Connection) -> None:
    client = add_client(conn)
    campaign = add_campaign(conn, client, messages=5)
    young = add_lead(conn, client, campaign, opted_out=True)
    old = add_lead(conn, client, campaign, opted_out=True)
    add_lead(conn, client, campaign, booked=True)  # not an opt-out: not counted
    conn.commit()

    seen_ago(conn, young, 1)
    seen_ago(conn, old, 2)
    assert evaluate_unhonored_opt_outs(conn).level == Level.PASSED
    seen_ago(conn, old, 6)
    outcome = evaluate_unhonored_opt_outs(conn)
    assert outcome.level == Level.WARN
    assert outcome.figures()["unhonored_opt_outs"] == 2
    assert outcome.client_findings()[client]["oldest_lead"] == old
    seen_ago(conn, old, 61)
    assert evaluate_unhonored_opt_outs(conn).level == Level.ERROR
    assert evaluate_unhonored_opt_outs(conn, thresholds=UnhonoredThresholds(7200, 7300)).level == Level.PASSED

    conn.execute(text("UPDATE leads SET is_active = false WHERE id = :i"), {"i": old})  # honored
    conn.commit()
    assert evaluate_unhonored_opt_outs(conn).level == Level.PASSED


def test_inactive_clients_are_left_out_unless_asked_for(conn: Connection) -> None:
    client = add_client(conn, active=False)
    campaign = add_campaign(conn, client)
    lead = add_lead(conn, client, campaign, opted_out=True)
    conn.commit()
    seen_ago(conn, lead, 120)
    assert evaluate_unhonored_opt_outs(conn).level == Level.PASSED
    assert evaluate_unhonored_opt_outs(conn, [client]).level == Level.ERROR
