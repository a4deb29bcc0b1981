"""`campaign-ops alerts silence|list|unsilence|test` on a real database (and the fake Slack for `test`)."""

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from campaign_ops.alerts.silences import parse_duration
from campaign_ops.cli import main
from campaign_ops.db.engine import make_engine
from campaign_ops.errors import ConfigError
from campaign_ops_tests.alerts.conftest import WEBHOOK_SECRET, FakeSlack
from campaign_ops_tests.factories import add_client


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["alerts", *args])
    return result.exit_code, result.output


def silences(conn: Connection) -> list[dict]:
    rows = [dict(r) for r in conn.execute(text("SELECT * FROM alert_silences ORDER BY id")).mappings()]
    conn.commit()
    return rows


def test_silence_list_unsilence(conn: Connection, db_env: str) -> None:
    client_id = add_client(conn, name="Acme Dental")
    conn.commit()
    code, out = cli("silence", "--for", "2h", "--type", "check_failed", "--client", client_id, "--reason", "migration")
    assert code == 0, out
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
    assert re.fullmatch(rf"silence #1: type CHECK_FAILED for client Acme Dental \({client_id}\) until {stamp}\n", out)
    code, out = cli("silence", "--for", "30m", "--by", "alice")
    assert code == 0 and out.startswith("silence #2: all types for all clients until")
    [first, second] = silences(conn)
    assert (first["alert_type"], str(first["client_id"]), first["reason"]) == ("CHECK_FAILED", client_id, "migration")
    assert first["until"] - first["starts_at"] == parse_duration("2h")
    assert (second["alert_type"], second["client_id"], second["created_by"]) == (None, None, "alice")

    code, out = cli("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Silences in force: 2"
    assert lines[1].startswith("  #2 [active, 0h29m left] type all, all clients, until ")
    assert lines[1].endswith("by alice")
    assert lines[2].startswith(f"  #1 [active, 1h59m left] type CHECK_FAILED, Acme Dental ({client_id}), until ")
    assert lines[2].endswith(" — migration")
    assert lines[3] == "Open alerts: 0"

    assert cli("unsilence", "1", "--by", "bob") == (0, "lifted 1 silence(s): #1\n")
    assert silences(conn)[0]["lifted_by"] == "bob"
    code, out = cli("unsilence", "1")
    assert (code, out) == (1, "error: silence #1 is not in force (expired or already lifted)\n")
    assert cli("list")[1].splitlines()[0] == "Silences in force: 1"
    assert "#1 [lifted by bob]" in cli("list", "--all")[1]
    assert cli("unsilence", "--all") == (0, "lifted 1 silence(s): #2\n")
    assert cli("unsilence", "--all") == (0, "lifted 0 silence(s)\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["silence", "--for", "2x"], "error: --for: expected a duration like 30m, 2h, 1d or 1h30m, got '2x'"),
        (["silence", "--for", "0m"], "error: --for: the duration must be longer than zero"),
        (["silence", "--for", "31d"], "error: --for: at most 30d; a longer silence is a muted alert, fix or remove it"),
        (
            ["silence", "--for", "1h", "--type", "nope"],
            "error: unknown alert type 'nope'; known: ALERT_PIPELINE, CHECK_FAILED, ",
        ),
        (["silence", "--for", "1h", "--client", "123"], "error: client id '123' is not a uuid"),
        (
            ["silence", "--for", "1h", "--client", "00000000-0000-0000-0000-000000000001"],
            "error: unknown client id: 00000000-0000-0000-0000-000000000001",
        ),
        (["unsilence"], "error: give a silence id (see `alerts list`) or --all, not both"),
        (["unsilence", "7", "--all"], "error: give a silence id (see `alerts list`) or --all, not both"),
        (["unsilence", "7"], "error: silence #7 does not exist"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    conn: Connection, db_env: str, args: list[str], message: str
) -> None:
    code, out = cli(*args)
    assert code == 1
    assert out.startswith(message) and out.count("\n") == 1, out
    assert silences(conn) == []


def test_durations() -> None:
    assert [parse_duration(t).total_seconds() for t in ("90s", "30m", "2h", "1h30m", "1d", "1d2h")] == [
        90,
        1800,
        7200,
        5400,
        86400,
        93600,
    ]
    with pytest.raises(ConfigError):
        parse_duration("")


def test_test_alert_goes_through_the_pipeline(
    conn: Connection, db_env: str, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_WEBHOOK_URL", slack.webhook_url)
    code, out = cli("test", "--severity", "warn")
    assert code == 0, out
    assert out.splitlines() == [
        "destination: Slack incoming webhook",
        "result: 1 firing, 1 message(s), 1 sent, 0 logged, 0 failed, 0 suppressed, 0 waiting to retry, 0 silenced, "
        "0 resolved",
    ]
    assert slack.titles() == [":large_orange_circle: [WARN] campaign-ops test alert"]
    # the hardening report's de-duplication test: the same alert twice, one message
    code, out = cli("test", "--severity", "warn")
    assert code == 0 and "1 suppressed" in out
    assert len(slack.received) == 1

    slack.answer(500)
    code, out = cli("test", "--key", "other")
    assert code == 1
    assert out.splitlines()[-1] == "error: the test alert was not delivered; see `alerts list` for the recorded error"
    assert WEBHOOK_SECRET not in out
    listing = cli("list")[1]
    assert "test:other" in listing and "failed, firing owed" in listing


def test_test_alert_without_slack_is_logged(
    conn: Connection, db_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ALERT_WEBHOOK_URL", "DE_ENROLLMENT_ALERT_WEBHOOK", "SLACK_BOT_TOKEN", "SLACK_ALERT_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    code, out = cli("test")
    assert code == 0
    assert out.splitlines()[0] == "destination: the log (no Slack configured)"
    assert "1 logged" in out
    status = conn.execute(text("SELECT delivery_status FROM alert_logs WHERE alert_key = 'test:manual'")).scalar()
    assert status == "logged"


def test_times_labelled_utc_are_utc_whatever_the_database_time_zone(
    conn: Connection, db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the database's (and so every session's) TimeZone America/New_York, timestamptz values come back at
    -05:00/-04:00: what is printed with "UTC" must still be UTC."""
    database = conn.execute(text("SELECT current_database()")).scalar()
    conn.execute(text(f"ALTER DATABASE \"{database}\" SET timezone = 'America/New_York'"))
    conn.commit()
    monkeypatch.setenv("PGTZ", "America/New_York")  # the session's own TimeZone too (libpq sends it)
    code, out = cli("silence", "--for", "2h", "--type", "TEST")
    assert code == 0, out
    engine = make_engine(db_env, pooled=False)
    with engine.connect() as fresh:  # a new session, as the CLI's
        until = fresh.execute(
            text(
                "SELECT to_char(until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), current_setting('TimeZone')"
                " FROM alert_silences"
            )
        ).one()
    engine.dispose()
    assert until[1] == "America/New_York"  # the setting did apply to sessions
    assert out.endswith(f"until {until[0]} UTC\n"), out
    listed = cli("list")[1].splitlines()[1]
    assert f"until {until[0]} UTC" in listed, listed
