"""The baseline changed nothing: the databases the released head's migrations (0028-0045, before the fold) gave and
the ones the baseline gives are the same, every function body, row and index (a full pg_dump compared), and a
database the released head migrated is taken over without running anything again.

The released head is run for real: its `campaign_ops` package, taken from git history (`git archive`), runs its own
migration files in a subprocess. A fixture dump of such a database would restate every function body once more in
the repository, and rebuilding its bookkeeping by hand would test the adoption against itself. Without that commit
in the checkout (a shallow clone) these tests are skipped, saying so.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.db.migrations import run_script
from campaign_ops.db.verify import verify_schema
from campaign_ops.errors import CampaignOpsError
from campaign_ops_tests.conftest import create_database, drop_database
from campaign_ops_tests.db.pgdump import full_dump
from campaign_ops_tests.db.test_legacy_adoption import LEGACY_SCHEMA
from campaign_ops_tests.db.test_rollback_exact import pg_dump  # noqa: F401 (fixture)

# the released head: the last commit whose migrations 0028-0045 the baseline folds
RELEASED_HEAD = "4fb74d9"
# the fold itself: its object files hold the released head's bodies; a file changed since is compared as it is today
FOLDED_AT = "c290356"
REPO = Path(__file__).resolve().parents[2]
BOOKKEEPING = (
    "alembic_version",
    migrations.CHECKSUM_TABLE,
    migrations.CHANGES_TABLE,
    f"{migrations.CHANGES_TABLE}_id_seq",
)

# leads of every kind the baseline's rows are about: due (finished, opted out, booked), not due, in a campaign whose
# messages are not a JSON array, with phones and emails in the forms people type
SOP_DATA = """
INSERT INTO clients (id, company_name, email, airtable_base_id, created_at, updated_at)
VALUES ('11111111-1111-1111-1111-111111111111', 'Fold Co', 'ops@fold.example', 'appFOLD',
        '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z');
INSERT INTO campaigns (id, client_id, name, messages, created_at, updated_at)
VALUES ('22222222-2222-2222-2222-222222222222', '11111111-1111-1111-1111-111111111111', 'Three steps',
        '["a","b","c"]', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z');
INSERT INTO leads (id, client_id, campaign_link_id, first_name, phone, email, current_message_position, opted_out,
                   booked_meeting, created_at, updated_at)
SELECT md5('fold' || n)::uuid, '11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222',
       'L' || n, CASE n % 3 WHEN 0 THEN '(555) 010-' || lpad(n::text, 4, '0') WHEN 1 THEN '+1 555 010 ' || n END,
       CASE WHEN n % 4 <> 0 THEN ' Lead' || (n % 40) || '@Fold.example ' END,
       n % 5, n % 9 = 0, n % 13 = 0, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'
  FROM generate_series(1, 120) AS n;
"""


@pytest.fixture(scope="module")
def released_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = subprocess.run(
        ["git", "-C", str(REPO), "cat-file", "-e", f"{RELEASED_HEAD}^{{commit}}"], capture_output=True, check=False
    )
    if found.returncode != 0:
        pytest.skip(f"commit {RELEASED_HEAD} (the released head) is not in this checkout's git history")
    target = tmp_path_factory.mktemp("released")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", RELEASED_HEAD, "campaign_ops"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def released_upgrade(package: Path, url: str, to: str = "head") -> None:
    """`db upgrade` as the released head runs it: its own package, migration files and Alembic scripts."""
    code = "import sys; from campaign_ops.db import migrations; migrations.upgrade(sys.argv[1], sys.argv[2])"
    env = {**os.environ, "PYTHONPATH": str(package)}
    subprocess.run([sys.executable, "-c", code, url, to], env=env, cwd=package, check=True, capture_output=True)


def run_sql(url: str, sql: str) -> None:
    engine = make_engine(url, pooled=False)
    with engine.begin() as c:
        run_script(c, sql)
    engine.dispose()


def schema_and_rows(url: str, binary: str) -> str:
    """Everything but the migration runner's own bookkeeping, with the values stamped by now() at upgrade time
    (when each lead already due was queued, when the compliance settings row was written, when a legacy database was
    adopted) made comparable."""
    run_sql(
        url,
        "UPDATE de_enrollment_due_queue SET due_since = '2025-01-01';"
        " UPDATE compliance_settings SET updated_at = '2025-01-01';"
        " DO $$ BEGIN IF to_regclass('legacy_schema_adoption') IS NOT NULL THEN"
        " UPDATE legacy_schema_adoption SET adopted_at = '2025-01-01'; END IF; END $$;",
    )
    return full_dump(url, binary, excluded=BOOKKEEPING)


def with_objects_changed_since_the_fold(url: str) -> None:
    """The object files changed (or added) since the fold, applied as the next upgrade applies them: the released
    head's database and the baseline's then differ by nothing else."""
    for path in migrations.object_files():
        folded = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{FOLDED_AT}:{path.relative_to(REPO).as_posix()}"],
            capture_output=True,
            check=False,
            text=True,
        )
        if folded.returncode != 0 or folded.stdout != path.read_text():
            run_sql(url, "SET LOCAL check_function_bodies = off;" + path.read_text())


@pytest.fixture
def twin_url(admin_url: str) -> Iterator[str]:
    name = f"co_fold_{uuid.uuid4().hex[:16]}"
    yield create_database(admin_url, name)
    drop_database(admin_url, name)


@pytest.mark.parametrize("start", ["fresh", "sop_head", "legacy"])
def test_the_baseline_gives_the_database_the_released_migrations_gave(
    start: str,
    empty_db_url: str,
    twin_url: str,
    released_package: Path,
    pg_dump: str,  # noqa: F811
) -> None:
    """A fresh database, one at 0027 (the SOP's released head) with leads, and an adopted legacy one: upgraded by the
    released head's migrations and by the baseline, the same schema, function bodies and rows."""
    for url in (empty_db_url, twin_url):
        if start == "legacy":
            run_sql(url, LEGACY_SCHEMA)
            # the legacy rows' creation moments are the twins' own: the same in both
            run_sql(
                url, "".join(f"UPDATE {t} SET created_at = '2025-01-01';" for t in ("clients", "campaigns", "leads"))
            )
            run_sql(
                url, "UPDATE clients SET updated_at = '2025-01-01'; UPDATE campaigns SET updated_at = '2025-01-01';"
            )
        if start == "sop_head":
            migrations.upgrade(url, "0027")  # the SOP's files are the released ones, unchanged
            run_sql(url, SOP_DATA)
    released_upgrade(released_package, twin_url)
    with_objects_changed_since_the_fold(twin_url)
    applied = migrations.upgrade(empty_db_url)

    expected = ["0045"] if start == "sop_head" else migrations.all_revisions()
    assert [a for a in applied if not a.startswith("objects/")] == expected
    assert schema_and_rows(empty_db_url, pg_dump) == schema_and_rows(twin_url, pg_dump)


def test_a_database_the_released_head_migrated_is_taken_over_without_running_anything_again(
    empty_db_url: str,
    released_package: Path,
    pg_dump: str,  # noqa: F811
) -> None:
    released_upgrade(released_package, empty_db_url, "0027")
    run_sql(empty_db_url, SOP_DATA)
    released_upgrade(released_package, empty_db_url)
    # life at the released head: the triggers queue, count and keep contacts of what the platform writes
    run_sql(
        empty_db_url,
        "UPDATE leads SET current_message_position = current_message_position + 1, phone = '555 010 9999'"
        " WHERE first_name IN ('L7', 'L8', 'L11')",
    )
    with_objects_changed_since_the_fold(empty_db_url)
    before = full_dump(empty_db_url, pg_dump, excluded=BOOKKEEPING)

    applied = migrations.upgrade(empty_db_url)

    # no migration ran; the object files were applied once (their checksums were not stored yet), changing nothing
    assert applied == [migrations.object_key(p) for p in migrations.object_files()]
    assert full_dump(empty_db_url, pg_dump, excluded=BOOKKEEPING) == before
    assert migrations.upgrade(empty_db_url) == []
    status = migrations.status(empty_db_url)
    assert (status.current, status.pending) == (migrations.head_revision(), [])
    engine = make_engine(empty_db_url, pooled=False)
    with engine.connect() as c:
        assert all(item.ok for item in verify_schema(c))
        revisions = c.execute(
            text("SELECT revision FROM campaign_ops_migration_checksums WHERE revision NOT LIKE 'objects/%' ORDER BY 1")
        ).scalars()
        assert list(revisions) == migrations.all_revisions()
    engine.dispose()
    # and it goes down to the SOP's head like any other
    migrations.downgrade(empty_db_url, "0027")
    assert migrations.status(empty_db_url).current == "0027"


def test_a_database_at_a_folded_development_revision_is_refused_in_one_line(
    empty_db_url: str,
    released_package: Path,
) -> None:
    released_upgrade(released_package, empty_db_url, "0040")
    with pytest.raises(CampaignOpsError, match=r"at revision 0040, a development revision folded"):
        migrations.upgrade(empty_db_url)
    engine = make_engine(empty_db_url, pooled=False)
    with engine.connect() as c:
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0040"
    engine.dispose()
