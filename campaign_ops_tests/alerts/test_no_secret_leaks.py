"""No secret is ever printed, logged or stored: every command and every alert path that can report an error, run with
secrets planted in the database URL (user:password@, `?password=`, `&sslpassword=`), in the webhook (its path
and each of its segments, echoed back by a relay), in the bot token, in Twilio's account SID and auth token and
in PagerDuty's routing key; all output, logs, the Dagster event log, Slack's messages, the SMS and the alert tables
are searched for them."""

import logging
from pathlib import Path

import click
import dagster as dg
import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from campaign_ops.alerts.defs import SlackAlertResource
from campaign_ops.checks.defs import database_schema_asset, schema_contract_check, schema_contract_job
from campaign_ops.cli import main
from campaign_ops.resources import DatabaseResource
from campaign_ops_tests.alerts.conftest import (
    PAGERDUTY_KEY,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    UI_URL,
    FakePagerDuty,
    FakeSlack,
    FakeTwilio,
    SensorDriver,
    twilio_env,
)

USERINFO_PASSWORD = "Us3rInf0Pw"
QUERY_PASSWORD = "S3cretPw"
SSL_PASSWORD = "SslKeyS3cret"
ODD_TOKEN = "corp-relay-t0k3n-QQ77"  # a configured token of no Slack shape: only its exact value identifies it
SECRETS = (
    USERINFO_PASSWORD,
    QUERY_PASSWORD,
    SSL_PASSWORD,
    "T0SECRET",
    "B0SECRET",
    "w3bh00kS3cr3tPath",
    "t0k3nS3cr3t",
    "xoxb-1111",
    ODD_TOKEN,
    # Twilio's account SID is its user name, in every request's path (urllib3 logs that at DEBUG): our own texts
    # mask it all the same; the auth token is the secret
    TWILIO_TOKEN,
    PAGERDUTY_KEY,
)


def closed_url(database: str) -> str:
    """A database URL on a port nothing listens on, with passwords where libpq accepts them."""
    return (
        f"postgresql://ops:{USERINFO_PASSWORD}@127.0.0.1:1/{database}"
        f"?password={QUERY_PASSWORD}&sslpassword={SSL_PASSWORD}&connect_timeout=2"
    )


# every command with arguments that get it past click's own validation to its first database access
COMMAND_ARGS: dict[str, list[str]] = {
    "alerts ack": ["1", "--by", "sam"],
    "alerts list": [],
    "alerts silence": ["--for", "2h", "--type", "TEST"],
    "alerts stats": [],
    "alerts test": [],
    "alerts unsilence": ["1"],
    "archive": [],
    "backup": [],
    "check": ["stuck_leads"],
    "compliance phone-region": ["GB"],
    "compliance report": ["--month", "2026-01"],
    "compliance revoke-all": ["--client-id", "0b6c5a4e-0000-4000-8000-000000000001", "--off", "--reason", "test"],
    "db downgrade": ["--to", "0026"],
    "db status": [],
    "db upgrade": [],
    "db verify": [],
    "de-enroll": ["--all"],
    "demo seed": [],
    "dev": [],
    "dev check": [],
    "dev env": [],
    "dev prune-runs": [],
    "health-check": [],
    "lead history": ["--email", "someone@example.com"],
    "lifecycle status": ["Spring"],
    "migrate-stuck-leads": [],
    "pause": ["--reason", "test"],
    "reconcile": ["--all"],
    "report": ["daily"],
    "resolve-skipped": ["--list"],
    "restore": ["2026-01-01", "--from", "/nonexistent"],
    "resume": [],
    "run-job": ["de_enrollment_job"],
    "stuck-clients": [],
}


def leaf_commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                names.append(f"{prefix}{name}")
            names.extend(leaf_commands(command, f"{prefix}{name} "))
        else:
            names.append(f"{prefix}{name}")
    return names


def assert_no_secret(where: str, haystack: str) -> None:
    for secret in SECRETS:
        assert secret not in haystack, f"{secret!r} leaked into {where}: {haystack[:2000]}"


def test_every_command_is_listed_here() -> None:
    assert sorted(leaf_commands(main)) == sorted(COMMAND_ARGS)


def test_no_command_prints_or_logs_a_database_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, slack: FakeSlack, twilio: FakeTwilio
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {
        "DATABASE_URL": closed_url("campaign_ops"),
        "DAGSTER_PG_URL": closed_url("dagster"),
        "DAGSTER_HOME": str(tmp_path),
        "ALERT_WEBHOOK_URL": slack.webhook_url,
        "SLACK_BOT_TOKEN": ODD_TOKEN,
        **twilio_env(twilio),
        "PAGERDUTY_ROUTING_KEY": PAGERDUTY_KEY,
    }
    failed_on_database = 0
    for name, args in COMMAND_ARGS.items():
        result = CliRunner().invoke(main, [*name.split(" "), *args], env=env)
        if name == "dev env":  # it prints only what is not set yet: here everything is, so nothing at all
            assert (result.exit_code, result.output) == (0, ""), result.output
            continue
        assert result.exit_code != 0, f"{name}: {result.output}"
        assert "Traceback" not in result.output
        assert_no_secret(f"`campaign-ops {name}`", result.output + repr(result.exception))
        failed_on_database += "cannot connect to PostgreSQL" in result.output
    # the commands did get as far as the database (else they would prove nothing about its URL)
    assert failed_on_database >= len(COMMAND_ARGS) - 4
    assert "password=***" in CliRunner().invoke(main, ["db", "status"], env=env).output
    assert_no_secret("the log", "\n".join(r.getMessage() for r in caplog.records))


@dg.op
def touch_database(database: DatabaseResource) -> None:
    with database.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


@dg.job(name="reconciliation_job")
def job_on_a_closed_database() -> None:
    touch_database()


def event_log_text(instance: dg.DagsterInstance) -> str:
    """Everything the Dagster event log holds: messages, failure descriptions, errors, check evaluations."""
    entries = [e for run in instance.get_runs() for e in instance.all_logs(run.run_id)]
    return "\n".join(dg.serialize_value(e) for e in entries)


def test_no_alert_path_leaks_a_secret(
    driver: SensorDriver,
    slack: FakeSlack,
    conn: Connection,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    closed = DatabaseResource(url=closed_url("campaign_ops"))
    # a run that fails on the database: its failure description reaches RUN_FAILED
    result = job_on_a_closed_database.execute_in_process(
        instance=driver.instance, resources={"database": closed}, raise_on_error=False
    )
    assert not result.success
    # the real schema contract check on a closed database: a failed evaluation whose description is the error
    defs = dg.Definitions(
        assets=[database_schema_asset],
        asset_checks=[schema_contract_check],
        jobs=[schema_contract_job],
        resources={"database": closed},
    )
    check_run = defs.resolve_job_def("schema_contract_job").execute_in_process(instance=driver.instance)
    evaluations = check_run.get_asset_check_evaluations()
    assert evaluations and not evaluations[0].passed
    assert "password=***" in (evaluations[0].description or "")

    by_token = SlackAlertResource(
        bot_token=ODD_TOKEN, channel="#ops", slack_api_url=slack.api_url, dagster_ui_url=UI_URL, timeout_seconds=1
    )
    webhook_path = slack.webhook_url.split(str(slack.server.port), 1)[1]
    # a relay echoing the path across the 200th character (where the text used to be cut before masking), and
    # its segments alone
    relay_echo = "proxy error: " + "x" * 150 + f" for {webhook_path}; upstream T0SECRET/B0SECRET said w3bh00kS3cr3tPath"
    assert relay_echo.index(webhook_path) < 200 < relay_echo.index(webhook_path) + len(webhook_path)
    for status, body in [(500, relay_echo), (502, f"bad gateway {webhook_path}")]:
        slack.answer(status, body=body)
        driver.clock.advance(minutes=20)
        driver.tick("run_status_alert_sensor")
        driver.tick("asset_check_alert_sensor")
    for error in (f"invalid_auth: {ODD_TOKEN}", "not_authed xoxb-1111-2222-t0k3nS3cr3t"):
        slack.answer(401, body=error)
        driver.clock.advance(minutes=20)
        driver.tick("run_status_alert_sensor", slack_alerts=by_token)
        driver.tick("asset_check_alert_sensor", slack_alerts=by_token)
    slack.answer(200)
    driver.clock.advance(minutes=20)
    driver.tick("run_status_alert_sensor")
    driver.tick("asset_check_alert_sensor")

    delivered = [str(m) for m in slack.received]
    assert any("reconciliation_job failed" in m for m in delivered)  # the RUN_FAILED summary reached Slack
    assert any("Check schema_contract could not run (whole database)" in m for m in delivered)
    assert any("password=***" in m for m in delivered)
    stored = (
        conn.execute(
            text(
                "SELECT coalesce(string_agg(concat_ws(' ', title, message, last_error, last_payload::text), ' '), '')"
                "  FROM alert_logs"
                " UNION ALL SELECT coalesce(string_agg(coalesce(error, ''), ' '), '') FROM alert_deliveries"
            )
        )
        .scalars()
        .all()
    )
    conn.commit()
    errors = conn.execute(text("SELECT string_agg(error, ' | ') FROM alert_deliveries")).scalar() or ""
    conn.commit()
    assert (
        "x for ***; upstream ***" in errors and "bad gateway ***" in errors and "invalid_auth: ***" in errors
    )  # the relays' answers were recorded, masked
    out, err = capsys.readouterr()
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert_no_secret("Slack messages", "\n".join(delivered))
    assert_no_secret("alert tables", "\n".join(stored))
    assert_no_secret("logs", ours + out + err)
    assert_no_secret("the Dagster event log", event_log_text(driver.instance))


def test_alerts_test_through_an_echoing_relay_leaks_nothing(
    db_env: str, conn: Connection, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    webhook_path = slack.webhook_url.split(str(slack.server.port), 1)[1]
    slack.answer(500, body=f"no route to {webhook_path} (segments T0SECRET, B0SECRET)")
    result = CliRunner().invoke(main, ["alerts", "test"], env={"ALERT_WEBHOOK_URL": slack.webhook_url})
    assert result.exit_code == 1, result.output
    assert len(slack.received) == 1
    errors = conn.execute(text("SELECT string_agg(last_error, ' | ') FROM alert_logs")).scalar() or ""
    conn.commit()
    assert errors == "HTTP 500: no route to *** (segments ***, ***)"
    assert_no_secret("`alerts test`", result.output)
    assert_no_secret("alert_logs", errors)
    assert_no_secret("the log", "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug"))


def test_no_paging_path_leaks_a_secret(
    driver: SensorDriver,
    slack: FakeSlack,
    twilio: FakeTwilio,
    pagerduty: FakePagerDuty,
    conn: Connection,
    caplog: pytest.LogCaptureFixture,
    db_env: str,
) -> None:
    """Real ticks of the critical alert sensor (an empty number pool: POOL_EMPTY) with Twilio and PagerDuty
    failing, each echoing the secrets it was sent, then answering; and `alerts test --critical` the same way."""
    from campaign_ops.critical_alerts.defs import build_critical_alert_sensor

    caplog.set_level(logging.DEBUG)
    paging = SlackAlertResource(
        webhook_url=slack.webhook_url,
        dagster_ui_url=UI_URL,
        timeout_seconds=1,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_number=TWILIO_FROM,
        admin_phone="+447700900123",
        twilio_api_url=twilio.api_url,
        pagerduty_routing_key=PAGERDUTY_KEY,
        pagerduty_api_url=pagerduty.api_url,
    )
    sensor = build_critical_alert_sensor(clock=driver.clock)
    echo = f"account {TWILIO_SID} token {TWILIO_TOKEN} key {PAGERDUTY_KEY}"
    twilio.status, pagerduty.status = 500, 500
    twilio.echo = pagerduty.echo = echo
    for _ in range(2):
        context = dg.build_sensor_context(
            instance=driver.instance, resources={"database": driver.database, "slack_alerts": paging}
        )
        sensor(context)
        twilio.status, pagerduty.status = 201, 202
        driver.clock.advance(minutes=5)
    assert len(twilio.received) == 2 and len(pagerduty.received) == 2
    env = {
        "ALERT_WEBHOOK_URL": slack.webhook_url,
        **twilio_env(twilio),
        "PAGERDUTY_ROUTING_KEY": PAGERDUTY_KEY,
        "PAGERDUTY_API_URL": pagerduty.api_url,
    }
    twilio.status = 500
    cli = CliRunner().invoke(main, ["alerts", "test", "--critical"], env=env)
    assert cli.exit_code == 1
    stored = conn.execute(
        text(
            "SELECT concat_ws(' ', (SELECT string_agg(concat_ws(' ', last_error, last_payload::text), ' ')"
            "                          FROM alert_logs),"
            " (SELECT string_agg(coalesce(error, ''), ' ') FROM alert_deliveries),"
            " (SELECT string_agg(coalesce(last_error, ''), ' ') FROM alert_channel_states))"
        )
    ).scalar()
    conn.commit()
    assert "account *** token *** key ***" in (stored or "")  # the echo was recorded, masked
    assert_no_secret("the alert tables", stored or "")
    assert_no_secret("SMS", "\n".join(twilio.bodies()))
    assert_no_secret("Slack messages", "\n".join(str(m) for m in slack.received))
    assert_no_secret("`alerts test --critical`", cli.output)
    assert_no_secret("the log", "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug"))
