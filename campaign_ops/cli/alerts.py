"""`campaign-ops alerts …`: silence, list, unsilence, acknowledge, and send a test alert through the same pipeline as
the sensors."""

import getpass
from datetime import datetime

import click
from sqlalchemy import Connection

from campaign_ops.alerts.acks import DEFAULT_ACK, acknowledge, tell_pagerduty
from campaign_ops.alerts.config import (
    alert_settings_from_env,
    pagerduty_config_from_env,
    slack_config_from_env,
    twilio_config_from_env,
)
from campaign_ops.alerts.dispatch import dispatch
from campaign_ops.alerts.model import ALERT_TYPES, SEVERITIES, Alert, Notifier, utc_now
from campaign_ops.alerts.notifiers import build_notifier
from campaign_ops.alerts.rendering import format_utc
from campaign_ops.alerts.silences import (
    create_silence,
    lift_silences,
    list_silences,
    normalise_alert_type,
    open_alerts,
    parse_duration,
)
from campaign_ops.cli.types import MAX_HOURS, NON_BLANK, positive_int
from campaign_ops.db.engine import disposing_connection
from campaign_ops.errors import CampaignOpsError, ConfigError


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


def _when(moment: datetime | None) -> str:
    # timestamptz values come back in the session's time zone (the database's TimeZone setting): convert, since
    # the label says UTC
    return format_utc(moment) if moment else "-"


def _left(until: datetime, now: datetime) -> str:
    minutes = max(int((until - now).total_seconds() // 60), 0)
    return f"{minutes // 60}h{minutes % 60:02d}m left"


@click.group("alerts")
def alerts_group() -> None:
    """Alert silences and open alerts (the sensors send alerts; these commands control them)."""


@alerts_group.command("silence")
@click.option("--for", "duration_text", required=True, help="How long: 30m, 2h, 1d, 1h30m (at most 30d).")
@click.option("--type", "alert_type", help=f"Only this alert type ({', '.join(sorted(ALERT_TYPES))}).")
@click.option("--client", "client_id", help="Only alerts about this client (uuid).")
@click.option("--reason", help="Why (shown in `alerts list`).")
@click.option("--by", "created_by", help="Who silences (default: your user name).")
def silence_command(
    duration_text: str, alert_type: str | None, client_id: str | None, reason: str | None, created_by: str | None
) -> None:
    """Withhold alerts for a while (all of them, one type, one client, or one type for one client)."""
    duration = parse_duration(duration_text)
    alert_type = normalise_alert_type(alert_type)
    with disposing_connection() as conn:
        silence = create_silence(
            conn,
            duration=duration,
            now=utc_now(),
            created_by=created_by or _who(),
            alert_type=alert_type,
            client_id=client_id,
            reason=reason,
        )
    scope = " ".join(
        p
        for p in (
            f"type {silence.alert_type}" if silence.alert_type else "all types",
            f"for client {silence.company_name} ({silence.client_id})" if silence.client_id else "for all clients",
        )
    )
    click.echo(f"silence #{silence.id}: {scope} until {_when(silence.until)}")


@alerts_group.command("list")
@click.option("--all", "include_ended", is_flag=True, help="Also silences that expired or were lifted.")
def list_command(include_ended: bool) -> None:
    """Silences in force and alerts still open."""
    now = utc_now()
    with disposing_connection() as conn:
        silences = list_silences(conn, now=now, include_ended=include_ended)
        alerts = open_alerts(conn, now)
    click.echo(f"Silences{' (all)' if include_ended else ' in force'}: {len(silences)}")
    for s in silences:
        state = s.state(now)
        left = f", {_left(s.until, now)}" if state == "active" else ""
        client = f"{s.company_name} ({s.client_id})" if s.client_id else "all clients"
        reason = f" — {s.reason}" if s.reason else ""
        click.echo(
            f"  #{s.id} [{state}{left}] type {s.alert_type or 'all'}, {client}, until {_when(s.until)}, "
            f"by {s.created_by}{reason}"
        )
    click.echo(f"Open alerts: {len(alerts)}")
    for a in alerts:
        status = a.delivery_status
        if a.pending_kind:
            status += f", {a.pending_kind} owed, next attempt {_when(a.next_attempt_at)}"
        if a.paging:
            status += f", {a.paging}"
        if a.acked_by and a.acked_until:
            status += f", acknowledged by {a.acked_by} until {_when(a.acked_until)}"
        click.echo(
            f"  #{a.id} {a.severity:<8} {a.alert_type:<18} {a.alert_key}  since {_when(a.active_since)}, "
            f"last sent {_when(a.last_sent_at)} ({a.send_count}×), {status}"
        )


@alerts_group.command("unsilence")
@click.argument("silence_id", type=positive_int(2**63 - 1), required=False)
@click.option("--all", "lift_all", is_flag=True, help="Lift every silence in force.")
@click.option("--by", "lifted_by", help="Who lifts (default: your user name).")
def unsilence_command(silence_id: int | None, lift_all: bool, lifted_by: str | None) -> None:
    """End one silence (by its #) or all of them now."""
    if (silence_id is None) == (not lift_all):
        raise ConfigError("give a silence id (see `alerts list`) or --all, not both")
    with disposing_connection() as conn:
        lifted = lift_silences(
            conn, now=utc_now(), lifted_by=lifted_by or _who(), ids=None if lift_all else [silence_id or 0]
        )
    click.echo(f"lifted {len(lifted)} silence(s){': ' + ', '.join(f'#{i}' for i in lifted) if lifted else ''}")


@alerts_group.command("ack")
@click.argument("alert_id", type=positive_int(2**63 - 1))
@click.option("--by", "acked_by", required=True, type=NON_BLANK, help="Who is on it (shown to the others).")
@click.option("--for", "duration_text", help="How long: 30m, 2h, 1d (default 2h, at most 30d).")
@click.option("--reason", help="Why, or what you are doing about it.")
def ack_command(alert_id: int, acked_by: str, duration_text: str | None, reason: str | None) -> None:
    """Acknowledge an open alert (its # in `alerts list`): no re-send, escalation or page until it gets worse or
    the acknowledgement runs out."""
    duration = parse_duration(duration_text) if duration_text else DEFAULT_ACK
    with disposing_connection() as conn:
        ack = acknowledge(conn, alert_id, by=acked_by, duration=duration, reason=reason, now=utc_now())
    why = f" — {ack.reason}" if ack.reason else ""
    click.echo(
        f"alert #{ack.alert_id} {ack.alert_type} {ack.alert_key} ({ack.severity}) acknowledged by {ack.acked_by} "
        f"until {_when(ack.until)}{why}"
    )
    told = tell_pagerduty(ack, pagerduty_config_from_env())
    if told:
        click.echo(told)


@alerts_group.command("test")
@click.option("--severity", type=click.Choice(SEVERITIES, case_sensitive=False), default="INFO", show_default=True)
@click.option("--key", default="manual", show_default=True, help="Same key again within the window is suppressed.")
@click.option("--message", default="Test alert from campaign-ops: alerting works.", show_default=True)
@click.option(
    "--critical", is_flag=True, help="A CRITICAL test alert through every channel: Slack, SMS, PagerDuty (the phone)."
)
def test_command(severity: str, key: str, message: str, critical: bool) -> None:
    """Send a TEST alert through the sensors' pipeline (Slack from the environment, or the log; with --critical
    also SMS and PagerDuty); exit 1 if a delivery failed."""
    config = slack_config_from_env()
    pagers: list[Notifier] = []
    if critical:
        # configured wrong (a number not in E.164, half of Twilio's variables): one line, before anything is sent
        from campaign_ops.alerts.pagerduty import PagerDutyNotifier
        from campaign_ops.alerts.sms import TwilioSmsNotifier

        sms, pd = twilio_config_from_env(), pagerduty_config_from_env()
        pagers = [*([TwilioSmsNotifier(sms)] if sms else []), *([PagerDutyNotifier(pd)] if pd else [])]
        severity, key = "CRITICAL", f"critical:{key}"
    title = "campaign-ops test alert"
    alert = Alert(alert_type="TEST", key=f"test:{key}", severity=severity.upper(), title=title, summary=message)
    now = utc_now()
    with disposing_connection() as conn:
        report = dispatch(
            conn,
            firing=[alert],
            now=now,
            notifier=build_notifier(config),
            pagers=pagers,
            settings=alert_settings_from_env(),
            retry_due=False,
        )
        if critical:  # a test has nothing to resolve: close it without a message, so the next test is sent too
            close_test_alert(conn, alert, now)
    destinations = [config.description, *(p.config.description for p in pagers)]  # type: ignore[attr-defined]
    click.echo(f"destination: {'; '.join(destinations)}")
    click.echo(f"result: {report.summary()}")
    if report.failed or report.paging_failed or report.errors:
        raise CampaignOpsError("the test alert was not delivered; see `alerts list` for the recorded error")


def close_test_alert(conn: Connection, alert: Alert, now: datetime) -> None:
    """End a test alert's incident without telling anyone (its owed retries end with it)."""
    from campaign_ops.alerts import channels, incidents

    rows = incidents.lock_alert(conn, alert.alert_type, alert.key)
    _, ended = incidents.resolve(conn, rows, "test", None, now)
    channels.resolve(conn, ended, now, channels.PAGING_CHANNELS)
    conn.commit()


@alerts_group.command("stats")
@click.option("--hours", type=positive_int(MAX_HOURS), default=24, show_default=True, help="The window, ending now.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable figures.")
def stats_command(hours: int, as_json: bool) -> None:
    """Seed 004's alert statistics and its healthy/unhealthy reading."""
    import json

    from campaign_ops.alerts.stats import alert_stats

    with disposing_connection() as conn:
        stats = alert_stats(conn, hours=hours, now=utc_now())
    if as_json:
        click.echo(json.dumps(stats.as_json(), indent=2))
        return
    click.echo(
        f"Alerts in the last {hours} h: {stats.alerts} ({stats.per_day:.1f} a day), {stats.resolved} resolved, "
        f"{stats.failed} failed deliveries, {stats.silenced} silenced"
    )
    click.echo("By type:     " + (", ".join(f"{t} {n}" for t, n in stats.by_type.items()) or "none"))
    click.echo("By severity: " + (", ".join(f"{s} {n}" for s, n in stats.by_severity.items()) or "none"))
    click.echo(f"Clients concerned: {stats.unique_resources}")
    icon = {"healthy": "✅", "watch": "⚠️", "unhealthy": "❌"}[stats.reading]
    click.echo(f"{icon} {stats.reading}: {'; '.join(stats.reasons)}")
