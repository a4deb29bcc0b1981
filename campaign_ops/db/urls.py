"""Database URL handling: normalise users' URLs to the psycopg2 driver and hide passwords."""

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from campaign_ops.errors import ConfigError
from campaign_ops.errors import mask_url as mask_url  # the one masking home; re-exported for old imports

_ACCEPTED_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg2"}


def normalise_url(url: str) -> str:
    """Return `url` as a `postgresql+psycopg2://` URL (SQLAlchemy 2.1 maps bare `postgresql://` to psycopg 3).

    Raises ConfigError with a message that never contains the password.
    """
    parsed = parse_url(url)
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def parse_url(url: str) -> URL:
    if not url or not url.strip():
        raise ConfigError("DATABASE_URL is empty")
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL is malformed: expected postgresql://user[:password]@host[:port]/dbname"
        ) from None
    if parsed.drivername not in _ACCEPTED_SCHEMES:
        raise ConfigError(f"DATABASE_URL must be a PostgreSQL URL (postgresql://...), not {parsed.drivername}://")
    if not parsed.database:
        raise ConfigError("DATABASE_URL names no database (…/dbname)")
    return parsed


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return parse_url(url).set(database=database).render_as_string(hide_password=False)
