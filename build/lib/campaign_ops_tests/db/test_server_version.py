"""The migrations need PostgreSQL 15 or later (0021's NULLS NOT DISTINCT); older servers are refused in one line."""

import pytest
from sqlalchemy import Engine

from campaign_ops.db import migrations


def test_the_test_server_is_accepted_by_its_real_version_number(engine: Engine) -> None:
    with engine.connect() as conn:
        number = migrations.server_version_num(conn)
    assert number >= 150000
    migrations.check_server_version(number)  # the decision on this server's own number: go ahead


@pytest.mark.parametrize("number", [120022, 140013, 149999])
def test_older_servers_are_refused_in_one_line(number: int) -> None:
    with pytest.raises(migrations.UnsupportedServerError) as raised:
        migrations.check_server_version(number)
    message = str(raised.value)
    assert "\n" not in message
    assert f"PostgreSQL {number // 10000} is too old" in message and "15 or later" in message


def test_version_15_is_the_minimum() -> None:
    migrations.check_server_version(150000)
    with pytest.raises(migrations.UnsupportedServerError):
        migrations.check_server_version(149999)
