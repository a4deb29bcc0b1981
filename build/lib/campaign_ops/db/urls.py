"""Database URL handling: normalise users' URLs to the psycopg2 driver and hide passwords."""

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from campaign_ops.errors import ConfigError
from campaign_ops.errors import mask_url as mask_url  # the one masking home; re-exported for old imports

_ACCEPTED_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg2"}


def normalise_url(url: str, name: str = "DATABASE_URL") -> str:
    """Return `url` as a `postgresql+psycopg2://` URL (SQLAlchemy 2.1 maps bare `postgresql://` to psycopg 3).

    Raises ConfigError naming the variable `name`, with a message that never contains the password.
    """
    parsed = parse_url(url, name)
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def parse_url(url: str, name: str = "DATABASE_URL") -> URL:
    if not url or not url.strip():
        raise ConfigError(f"{name} is empty")
    try:
        # a port that is not a number is a ValueError from inside make_url
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        raise ConfigError(f"{name} is malformed: expected postgresql://user[:password]@host[:port]/dbname") from None
    if parsed.drivername not in _ACCEPTED_SCHEMES:
        raise ConfigError(f"{name} must be a PostgreSQL URL (postgresql://...), not {parsed.drivername}://")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise ConfigError(f"{name} has port {parsed.port}: a port is 1 to 65535")
    if not parsed.database:
        raise ConfigError(f"{name} names no database (…/dbname)")
    return parsed


def with_database(url: str, database: str, name: str = "DATABASE_URL") -> str:
    """The same server and credentials, another database."""
    return parse_url(url, name).set(database=database).render_as_string(hide_password=False)


def same_database(url: str, other: str) -> bool:
    """Whether two (valid) URLs name the same database on the same server (host, port, socket directory)."""
    a, b = parse_url(url), parse_url(other)

    def where(u: URL) -> tuple:
        return (u.host or u.query.get("host"), u.port or 5432, u.database)

    return where(a) == where(b)
