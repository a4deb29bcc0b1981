"""The one masking function (what it hides, wherever it appears in a text) and the one error line."""

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from campaign_ops.errors import ConfigError, error_line, mask_secrets, mask_url, secret_parts

WEBHOOK = "https://relay.example:8443/services/T0AAAA1111/B0BBBB2222/abcdefSecretXYZ123456789"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        (
            "postgresql://postgres@127.0.0.1:5999/db?password=S3cretPw",
            "postgresql://postgres@127.0.0.1:5999/db?password=***",
        ),
        (
            "at postgresql://u@h/db?sslmode=require&sslpassword=K3y&passfile=/p: refused",
            "at postgresql://u@h/db?sslmode=require&sslpassword=***&passfile=***: refused",
        ),
        ("postgresql://ops:hunter2@db:5432/app down", "postgresql://ops:***@db:5432/app down"),
        ("invalid dsn: host=db password='it\\'s secret' dbname=app", "invalid dsn: host=db password=*** dbname=app"),
        ("host=db password = plain dbname=app", "host=db password = *** dbname=app"),
        ("PGPASSWORD=abc psql", "PGPASSWORD=*** psql"),
        ("HTTP 500: proxy error for /services/T1/B2/abc", "HTTP 500: proxy error for /services/***"),
        (
            "posting to https://hooks.slack.com/services/T1/B2/abc failed",
            "posting to https://hooks.slack.com/*** failed",
        ),
        ("token xoxb-123-456-abc rejected", "token xox*-*** rejected"),
        ('password authentication failed for user "ops"', 'password authentication failed for user "ops"'),
    ],
)
def test_shapes_of_secrets_are_masked(raw: str, masked: str) -> None:
    assert mask_secrets(raw) == masked


def test_configured_secrets_are_masked_whole_and_in_pieces() -> None:
    assert secret_parts(WEBHOOK)[1] == "/services/T0AAAA1111/B0BBBB2222/abcdefSecretXYZ123456789"
    text = f"upstream {WEBHOOK} said T0AAAA1111 then B0BBBB2222 then abcdefSecretXYZ123456789; token tok-ABCDEF"
    assert mask_secrets(text, [WEBHOOK, "tok-ABCDEF"]) == "upstream *** said *** then *** then ***; token ***"
    # the path's common words are not secrets
    assert mask_secrets("see /api/services docs", [WEBHOOK]) == "see /api/services docs"


def test_mask_url_hides_every_password_of_a_database_url() -> None:
    url = "postgresql+psycopg2://ops:pw1@127.0.0.1:5432/app?password=pw2&sslpassword=pw3&application_name=x"
    assert (
        mask_url(url)
        == "postgresql+psycopg2://ops:***@127.0.0.1:5432/app?password=***&sslpassword=***&application_name=x"
    )


def test_a_database_error_is_the_drivers_first_line_without_the_statement(conn: Connection) -> None:
    with pytest.raises(DBAPIError) as raised:
        conn.execute(text("SELECT * FROM no_such_table WHERE note = :n"), {"n": "postgresql://ops:hunter2@db/app"})
    assert error_line(raised.value) == 'relation "no_such_table" does not exist'
    assert error_line(raised.value, with_type=True) == 'UndefinedTable: relation "no_such_table" does not exist'


def test_an_error_line_is_one_line_with_secrets_masked() -> None:
    exc = RuntimeError("  connect to postgresql://ops:hunter2@db/app failed\nsecond line  ")
    assert error_line(exc) == "connect to postgresql://ops:***@db/app failed"
    assert error_line(exc, with_type=True) == "RuntimeError: connect to postgresql://ops:***@db/app failed"


def test_an_operators_message_keeps_its_words_and_an_empty_one_names_the_class() -> None:
    assert error_line(ConfigError("DATABASE_URL is set but empty"), with_type=True) == "DATABASE_URL is set but empty"
    assert error_line(RuntimeError()) == "RuntimeError"
    assert error_line(RuntimeError(), with_type=True) == "RuntimeError"
