"""Seed 002's legacy database (campaign_id, sms_stop, booked, sms_sequence_position, processing_status)."""

from sqlalchemy import text

from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.db.migrations import run_script

LEGACY_SCHEMA = """
CREATE TABLE clients (id uuid PRIMARY KEY, company_name text NOT NULL, email text NOT NULL,
                      airtable_base_id text NOT NULL, is_active boolean NOT NULL DEFAULT true,
                      created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE campaigns (id uuid PRIMARY KEY, client_id uuid NOT NULL REFERENCES clients (id), name text NOT NULL,
                        messages jsonb NOT NULL DEFAULT '[]', created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE leads (id uuid PRIMARY KEY, client_id uuid NOT NULL REFERENCES clients (id),
                    campaign_id uuid REFERENCES campaigns (id), first_name text, last_name text, phone text,
                    email text, sms_sequence_position integer NOT NULL DEFAULT 0,
                    is_active boolean NOT NULL DEFAULT true,
                    sms_stop boolean NOT NULL DEFAULT false, booked boolean NOT NULL DEFAULT false,
                    processing_status varchar(32), created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT '2025-01-02T03:04:05Z');
INSERT INTO clients (id, company_name, email, airtable_base_id)
VALUES ('11111111-1111-1111-1111-111111111111', 'Legacy Co', 'ops@legacy.example', 'appLEGACY');
INSERT INTO campaigns (id, client_id, name, messages)
VALUES ('22222222-2222-2222-2222-222222222222', '11111111-1111-1111-1111-111111111111', 'Old', '["a","b","c"]');
INSERT INTO leads (id, client_id, campaign_id, first_name, sms_sequence_position, sms_stop, booked, processing_status)
SELECT md5('legacy' || n)::uuid, '11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222',
       'L' || n, n % 4, n % 7 = 0, n % 11 = 0, CASE WHEN n % 5 = 0 THEN 'Completed' ELSE 'In Progress' END
  FROM generate_series(1, 500) AS n;
"""

ADOPTED_VIEW = """
SELECT id, client_id, campaign_link_id, first_name, current_message_position, opted_out, booked_meeting,
       completed_at IS NOT NULL AS completed, is_active
  FROM leads ORDER BY id
"""
LEGACY_VIEW = """
SELECT id, client_id, campaign_id, first_name, sms_sequence_position, sms_stop, booked,
       processing_status = 'Completed' AS completed, is_active
  FROM leads ORDER BY id
"""


def test_legacy_database_is_adopted_without_losing_a_row(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url, pooled=False)
    with engine.begin() as c:
        run_script(c, LEGACY_SCHEMA)
    with engine.connect() as c:
        before = [tuple(r) for r in c.execute(text(LEGACY_VIEW))]

    migrations.upgrade(empty_db_url)

    with engine.connect() as c:
        after = [tuple(r) for r in c.execute(text(ADOPTED_VIEW))]
        assert len(after) == len(before) == 500
        # same ids, values carried over under the SOP's names; 'Completed' became completed_at and inactive
        for old, new in zip(before, after, strict=True):
            assert new[:7] == old[:7]
            assert new[7] == old[7]
            assert new[8] == (old[8] and not old[7])
        completed_at = (
            c.execute(text("SELECT DISTINCT completed_at FROM leads WHERE processing_status = 'Completed'"))
            .scalars()
            .all()
        )
        assert [str(ts.date()) for ts in completed_at] == ["2025-01-02"]  # the legacy row's updated_at

    # rolling back to 0001 gives the legacy names back, every row still there
    migrations.downgrade(empty_db_url, "0001")
    with engine.connect() as c:
        legacy_again = [
            tuple(r)
            for r in c.execute(
                text(
                    LEGACY_VIEW.replace(
                        "processing_status = 'Completed' AS completed, is_active",
                        "processing_status = 'Completed' AS completed, is_active",
                    )
                )
            )
        ]
        assert [r[:7] for r in legacy_again] == [r[:7] for r in before]
    engine.dispose()


def test_adoption_does_nothing_on_our_own_schema(empty_db_url: str) -> None:
    migrations.upgrade(empty_db_url, "0001")
    engine = make_engine(empty_db_url, pooled=False)
    with engine.connect() as c:
        cols_before = (
            c.execute(text("SELECT column_name FROM information_schema.columns WHERE table_name='leads' ORDER BY 1"))
            .scalars()
            .all()
        )
    migrations.upgrade(empty_db_url, "0002")
    with engine.connect() as c:
        cols_after = (
            c.execute(text("SELECT column_name FROM information_schema.columns WHERE table_name='leads' ORDER BY 1"))
            .scalars()
            .all()
        )
        assert c.execute(text("SELECT to_regclass('legacy_schema_adoption')")).scalar() is None
    assert cols_after == cols_before
    engine.dispose()
