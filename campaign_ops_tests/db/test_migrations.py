import os
import subprocess
import sys

import pytest
from sqlalchemy import Connection, text

from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine


def catalog(url: str) -> dict[str, list]:
    """Everything the migrations can create, as comparable data (bookkeeping tables excluded)."""
    queries = {
        "columns": """SELECT table_name, column_name, data_type, is_nullable, column_default
                        FROM information_schema.columns WHERE table_schema = 'public'
                         AND table_name NOT IN ('alembic_version', 'campaign_ops_migration_checksums',
                                                   'campaign_ops_migration_changes')
                       ORDER BY 1, 2""",
        "constraints": """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                           WHERE connamespace = 'public'::regnamespace
                             AND conrelid::regclass::text NOT IN ('alembic_version', 'campaign_ops_migration_checksums',
                                                   'campaign_ops_migration_changes')
                           ORDER BY 1, 2""",
        "indexes": """SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
                        AND tablename NOT IN ('alembic_version', 'campaign_ops_migration_checksums',
                                                   'campaign_ops_migration_changes') ORDER BY 1, 2""",
        "functions": """SELECT proname, pg_get_function_identity_arguments(oid), md5(prosrc) FROM pg_proc
                         WHERE pronamespace = 'public'::regnamespace ORDER BY 1, 2""",
        "views": """SELECT viewname, md5(definition) FROM pg_views WHERE schemaname = 'public' ORDER BY 1""",
    }
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        result = {name: [tuple(r) for r in conn.execute(text(q))] for name, q in queries.items()}
    engine.dispose()
    return result


def test_up_down_up_gives_identical_catalog(empty_db_url: str) -> None:
    migrations.upgrade(empty_db_url)
    first = catalog(empty_db_url)
    assert any(row[0] == "de_enrollment_runs" for row in first["columns"])
    migrations.downgrade(empty_db_url, "base")
    assert catalog(empty_db_url) == {k: [] for k in first}
    migrations.upgrade(empty_db_url)
    assert catalog(empty_db_url) == first


def test_each_rollback_undoes_exactly_its_migration(empty_db_url: str) -> None:
    revisions = migrations.all_revisions()
    assert revisions[:6] == ["0001", "0002", "0019", "0020", "0021", "0022"]
    previous = "base"
    for revision in revisions:
        before = catalog(empty_db_url)
        migrations.upgrade(empty_db_url, revision)
        after = catalog(empty_db_url)
        migrations.downgrade(empty_db_url, previous)
        assert catalog(empty_db_url) == before, f"rollback of {revision} did not restore the catalog"
        migrations.upgrade(empty_db_url, revision)
        assert catalog(empty_db_url) == after
        previous = revision
    assert migrations.status(empty_db_url).pending == []


def test_changed_applied_migration_is_refused(conn: Connection, db_url: str) -> None:
    conn.execute(text("UPDATE campaign_ops_migration_checksums SET sha256 = 'edited' WHERE revision = '0021'"))
    conn.commit()
    with pytest.raises(
        migrations.MigrationChecksumError, match=r"0021 \(sql/0021_add_de_enrollment_monitoring.sql\) changed"
    ):
        migrations.upgrade(db_url)
    with pytest.raises(migrations.MigrationChecksumError):
        migrations.downgrade(db_url, "0020")
    # nothing was rolled back by the refused downgrade
    assert migrations.status(db_url).current == migrations.head_revision()


def test_two_upgrades_started_at_once_apply_once(empty_db_url: str) -> None:
    env_cmd = [sys.executable, "-m", "campaign_ops.cli", "db", "upgrade"]
    env = {**os.environ, "DATABASE_URL": empty_db_url}
    procs = [
        subprocess.Popen(env_cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    applied = sorted(out.strip().rsplit("applied: ", 1)[1] for out, _ in outputs)
    # one of them applied everything, the other waited for it and found nothing left to do
    assert applied == [", ".join(migrations.all_revisions()), "nothing"]
    engine = make_engine(empty_db_url, pooled=False)
    with engine.connect() as c:
        counts = c.execute(
            text("SELECT revision LIKE 'objects/%', count(*) FROM campaign_ops_migration_checksums GROUP BY 1")
        ).all()
        assert dict(counts) == {False: len(migrations.all_revisions()), True: len(migrations.object_files())}
    engine.dispose()


def test_an_object_whose_file_changed_is_applied_again_by_upgrade(conn: Connection, db_url: str) -> None:
    """A changed object file (here: its stored checksum no longer matches, and the live function lost the settings
    its file gives it) is applied again by `db upgrade`, alone, in place; the migrations' checksum guard is not
    involved."""
    settings = "SELECT proconfig FROM pg_proc WHERE proname = 'de_enroll_leads'"
    current = conn.execute(text(settings)).scalar_one()
    assert "work_mem=64MB" in current
    conn.execute(text("ALTER FUNCTION de_enroll_leads(uuid[], uuid[], uuid[], integer) RESET ALL"))
    conn.execute(
        text(
            "UPDATE campaign_ops_migration_checksums SET sha256 = 'older'"
            " WHERE revision = 'objects/de_enroll_leads.sql'"
        )
    )
    conn.commit()

    assert migrations.upgrade(db_url) == ["objects/de_enroll_leads.sql"]
    assert conn.execute(text(settings)).scalar_one() == current
    assert migrations.upgrade(db_url) == []
