"""The baseline on a database with leads already due: the queue starts out holding them, and its rollback gives back
exactly the database it found (a full pg_dump compared)."""

from sqlalchemy import text

from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops_tests.db.pgdump import full_dump
from campaign_ops_tests.db.test_rollback_exact import pg_dump  # noqa: F401 (fixture)
from campaign_ops_tests.de_enrollment.conftest import make_client


def test_baseline_queues_the_leads_due_before_it_and_rolls_back_exactly(empty_db_url: str, pg_dump: str) -> None:  # noqa: F811
    migrations.upgrade(empty_db_url, "0027")
    engine = make_engine(empty_db_url, pooled=False)
    with engine.connect() as conn:
        a = make_client(conn, due=3)
        conn.commit()
    before = full_dump(empty_db_url, pg_dump)

    migrations.upgrade(empty_db_url, "0045")
    with engine.connect() as conn:
        queued = {str(i) for i in conn.execute(text("SELECT lead_id FROM de_enrollment_due_queue")).scalars()}
    assert queued == {*a.due_completed, *a.opted_out, *a.booked}

    migrations.downgrade(empty_db_url, "0027")
    engine.dispose()
    # everything but the migration runner's own record counter, which moved on (it is dropped at base)
    assert _without_runner_counter(full_dump(empty_db_url, pg_dump)) == _without_runner_counter(before)


def _without_runner_counter(dump: str) -> str:
    return "\n".join(line for line in dump.splitlines() if "campaign_ops_migration_changes_id_seq'" not in line)
