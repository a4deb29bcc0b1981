import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import ProgrammingError

from bench.sop_queries import (
    SOP_BACKUP_CREATE,
    SOP_FIX_STATS,
    SOP_INDEX_USAGE_AS_WRITTEN,
    SOP_INDEX_USAGE_CORRECTED,
    SOP_READ_ONLY_QUERIES,
)
from campaign_ops.demo.seed import seed_demo_data


@pytest.fixture
def seeded(conn: Connection) -> dict[str, str]:
    seed_demo_data(conn, clients=3, campaigns_per_client=2, leads=300, seed=1)
    conn.exec_driver_sql(SOP_BACKUP_CREATE)
    conn.commit()
    client_id = str(conn.execute(text("SELECT client_id FROM campaigns LIMIT 1")).scalar())
    lead_id = str(conn.execute(text("SELECT id FROM leads LIMIT 1")).scalar())
    return {"<client-uuid>": client_id, "<lead-uuid>": lead_id}


@pytest.mark.parametrize("name", sorted(SOP_READ_ONLY_QUERIES))
def test_sop_read_only_query_runs_verbatim(conn: Connection, seeded: dict[str, str], name: str) -> None:
    sql = SOP_READ_ONLY_QUERIES[name]
    for placeholder, value in seeded.items():
        sql = sql.replace(placeholder, value)
    # exec_driver_sql: the text goes to PostgreSQL exactly as the operator would type it
    result = conn.exec_driver_sql(sql.replace("%", "%%"))
    assert result.returns_rows
    result.fetchall()


def test_sop_fix_stats_runs_verbatim(conn: Connection, seeded: dict[str, str]) -> None:
    with conn.begin_nested():
        updated = conn.exec_driver_sql(SOP_FIX_STATS).rowcount
        assert updated == conn.execute(text("SELECT count(*) FROM campaigns")).scalar()
        conn.rollback()


def test_sop_stuck_query_sees_the_seeded_completable_leads(conn: Connection, seeded: dict[str, str]) -> None:
    stuck = conn.exec_driver_sql(SOP_READ_ONLY_QUERIES["6.2 stuck leads"]).scalar()
    expected = conn.execute(
        text(
            "SELECT count(*) FROM leads l JOIN campaigns c ON c.id = l.campaign_link_id"
            " WHERE l.is_active AND l.completed_at IS NULL"
            " AND l.current_message_position >= jsonb_array_length(c.messages)"
        )
    ).scalar()
    assert stuck == expected and stuck > 0


def test_sop_index_usage_query_is_wrong_on_postgresql_and_the_corrected_one_runs(conn: Connection) -> None:
    with pytest.raises(ProgrammingError, match='column "tablename" does not exist'):
        conn.exec_driver_sql(SOP_INDEX_USAGE_AS_WRITTEN.replace("%", "%%"))
    conn.rollback()
    names = {row.indexname for row in conn.exec_driver_sql(SOP_INDEX_USAGE_CORRECTED.replace("%", "%%"))}
    assert "de_enrollment_runs_run_at_idx" in names
