"""Every session asks the server to give up on a vanished client within the dead-client timeout."""

import pytest
from sqlalchemy import Engine, text

from campaign_ops.db.engine import (
    DEFAULT_DEAD_CLIENT_TIMEOUT_S,
    dead_client_timeout_s,
    keepalive_connect_args,
)
from campaign_ops.errors import ConfigError


def test_the_production_default_gives_up_within_two_minutes() -> None:
    args = keepalive_connect_args(DEFAULT_DEAD_CLIENT_TIMEOUT_S)
    idle, interval, count = args["keepalives_idle"], args["keepalives_interval"], args["keepalives_count"]
    assert isinstance(idle, int) and isinstance(interval, int) and isinstance(count, int)
    assert 60 <= idle + interval * count <= 120
    assert f"-c tcp_keepalives_idle={idle} " in str(args["options"])
    assert "-c tcp_user_timeout=120000" in str(args["options"])


def test_sessions_carry_the_settings(engine: Engine) -> None:
    with engine.connect() as conn:
        # the one of them that also applies on a Unix socket (the TCP ones read 0 there, by PostgreSQL's design)
        assert conn.execute(text("SELECT current_setting('client_connection_check_interval')")).scalar() == "30s"


@pytest.mark.parametrize("raw", ["", "0", "3", "7201", "２0", "1e3", "-5", "99999999999999999999"])
def test_bad_timeouts_are_refused_in_one_line(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_OPS_DEAD_CLIENT_TIMEOUT", raw)
    with pytest.raises(ConfigError, match="CAMPAIGN_OPS_DEAD_CLIENT_TIMEOUT must be a whole number"):
        dead_client_timeout_s()
