"""Shared fixtures: every test gets its own PostgreSQL database, a copy of a migrated template.

The server is $TEST_DATABASE_URL's (or $DATABASE_URL's) when set, else the embedded one. The template's name
carries a hash of the migrations, so a changed migration builds a new template and parallel sessions share one.
"""

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from campaign_ops.db import migrations
from campaign_ops.db.engine import make_engine
from campaign_ops.db.urls import normalise_url, with_database

TEMPLATE_LOCK_KEY = 0x636F5F74706C  # "co_tpl"


def _server_admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return with_database(normalise_url(url), "postgres")
    from campaign_ops.db.embedded import start_embedded_server

    return start_embedded_server("postgres")


def _migrations_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(migrations.SQL_DIR.rglob("*.sql")) + sorted(migrations.ALEMBIC_DIR.rglob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _admin_engine(admin_url: str) -> Engine:
    return make_engine(admin_url, pooled=False).execution_options(isolation_level="AUTOCOMMIT")


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    engine = _admin_engine(admin_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    engine.dispose()
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    engine = _admin_engine(admin_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


@pytest.fixture(scope="session")
def admin_url() -> str:
    """URL of the 'postgres' database on the test server (for creating and dropping databases)."""
    return _server_admin_url()


@pytest.fixture(scope="session")
def template_name(admin_url: str) -> str:
    """A migrated template database, built once per migrations hash (safe across parallel sessions)."""
    name = f"co_tpl_{_migrations_hash()}"
    engine = _admin_engine(admin_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": TEMPLATE_LOCK_KEY})
        try:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
            if not exists:
                building = f"{name}_building"
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                conn.exec_driver_sql(f'CREATE DATABASE "{building}"')
                migrations.upgrade(with_database(admin_url, building))
                conn.exec_driver_sql(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": TEMPLATE_LOCK_KEY})
    engine.dispose()
    return name


@pytest.fixture
def db_url(admin_url: str, template_name: str) -> Iterator[str]:
    """A fresh, fully migrated database of this test's own."""
    name = f"co_test_{uuid.uuid4().hex[:16]}"
    url = create_database(admin_url, name, template_name)
    yield url
    drop_database(admin_url, name)


@pytest.fixture
def empty_db_url(admin_url: str) -> Iterator[str]:
    """A fresh database with no schema at all."""
    name = f"co_empty_{uuid.uuid4().hex[:16]}"
    url = create_database(admin_url, name)
    yield url
    drop_database(admin_url, name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection whose work is committed explicitly by the test (conn.commit())."""
    with engine.connect() as connection:
        yield connection


@pytest.fixture
def db_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_URL pointing at this test's database, for CLI calls and Dagster resources."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]
