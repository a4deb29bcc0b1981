import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, text

from bench.sop_queries import SOP_READ_ONLY_QUERIES
from campaign_ops.archival.core import ArchivalSettings, archive_clients
from campaign_ops.errors import ConfigError, UnknownClientError
from campaign_ops_tests.archival.builders import add_log, add_run, everything, where_rows_are
from campaign_ops_tests.factories import add_campaign, add_client, add_lead

SOP_LEAD_HISTORY = SOP_READ_ONLY_QUERIES["appendix A lead history"]
APRIL_1 = datetime(2024, 4, 1, 2, 0, tzinfo=UTC)  # the monthly schedule's tick
MAY_1 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@dataclass
class History:
    client: str
    run_times: list[datetime] = field(default_factory=list)
    log_times: list[datetime] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)
    straggler_run: str = ""  # an old run with a recent lead-log row


def build_history(conn: Connection, name: str) -> History:
    """Runs every 4 days from December to the end of April, two lead-log rows each, plus rows exactly on and just
    before April 1st's cutoffs, and one old run whose lead-log row is recent."""
    history = History(client=add_client(conn, name=name))
    campaign = add_campaign(conn, history.client)
    times = [datetime(2023, 12, 1, 9, 30, tzinfo=UTC) + timedelta(days=4 * i) for i in range(38)]
    runs_cutoff, log_cutoff = APRIL_1 - timedelta(days=90), APRIL_1 - timedelta(days=30)
    times += [runs_cutoff, runs_cutoff - MICROSECOND, log_cutoff, log_cutoff - MICROSECOND]
    for i, run_at in enumerate(times):
        run = add_run(conn, history.client, run_at, status="failed" if i % 7 == 0 else "success")
        history.run_times.append(run_at)
        for offset, action in ((0, "de_enrolled"), (1, "skipped" if i % 2 else "error")):
            lead = add_lead(conn, history.client, campaign, active=False)
            history.leads.append(lead)
            processed = run_at + timedelta(seconds=offset) if offset else run_at
            add_log(conn, run, lead, history.client, campaign, processed, action=action)
            history.log_times.append(processed)
    old = datetime(2023, 12, 10, 8, 0, tzinfo=UTC)
    history.straggler_run = add_run(conn, history.client, old)
    history.run_times.append(old)
    lead = add_lead(conn, history.client, campaign, active=False)
    history.leads.append(lead)
    late = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
    add_log(conn, history.straggler_run, lead, history.client, campaign, late)
    history.log_times.append(late)
    conn.commit()
    return history


def older(times: list[datetime], cutoff: datetime) -> int:
    return sum(t < cutoff for t in times)


def lead_histories(conn: Connection, lead_ids: list[str]) -> dict[str, list[tuple]]:
    """Each lead's history from the de_enrollment_lead_history view (live and archived)."""
    rows = conn.execute(
        text(
            "SELECT lead_id::text, run_id, run_at, action, outcome, messages_received, error_message, processed_at"
            " FROM de_enrollment_lead_history WHERE lead_id = ANY(CAST(:ids AS uuid[])) ORDER BY processed_at DESC"
        ),
        {"ids": lead_ids},
    )
    result: dict[str, list[tuple]] = {}
    for r in rows:
        result.setdefault(r[0], []).append(tuple(r[1:]))
    conn.rollback()
    return result


def test_archival_across_month_boundaries_keeps_every_row(conn: Connection, engine: Engine) -> None:
    a, b = build_history(conn, "Acme"), build_history(conn, "Bolt")
    all_of_a, all_of_b = everything(conn, a.client), everything(conn, b.client)
    b_tables = where_rows_are(conn, b.client)
    histories = lead_histories(conn, a.leads)
    assert len(all_of_a["runs"]) == 43 and len(all_of_a["logs"]) == 85

    # April 1st: runs before January 2nd (90 days), lead-log rows before March 2nd (30 days)
    april = archive_clients(engine, [a.client], ArchivalSettings(), as_of=APRIL_1)
    [result] = april.results
    runs_cutoff, log_cutoff = april.cutoffs.runs, april.cutoffs.lead_log
    assert (runs_cutoff, log_cutoff) == (datetime(2024, 1, 2, 2, tzinfo=UTC), datetime(2024, 3, 2, 2, tzinfo=UTC))
    # 23 regular runs before March 2nd x 2 rows, the 4 rows of the two runs around January 2nd, and the row one
    # microsecond before March 2nd (the one exactly on it, and the row a second later, stay)
    assert result.lead_log_archived == older(a.log_times, log_cutoff) == 23 * 2 + 4 + 1
    # 8 regular runs before January 2nd and the one a microsecond before it; the straggler (December 10th) stays
    # because its lead-log row (March 20th) is still live
    assert result.runs_archived == older(a.run_times, runs_cutoff) - 1 == 8 + 1
    assert result.runs_kept_for_live_logs == 1
    assert everything(conn, a.client) == all_of_a
    live_runs = conn.execute(
        text("SELECT id::text, run_at FROM de_enrollment_runs WHERE client_id = :c"), {"c": a.client}
    ).all()
    assert all(t >= runs_cutoff for i, t in live_runs if i != a.straggler_run)
    assert a.straggler_run in {i for i, _ in live_runs}
    assert (
        conn.execute(
            text("SELECT max(run_at) FROM de_enrollment_runs_archive WHERE client_id = :c"), {"c": a.client}
        ).scalar()
        == runs_cutoff - MICROSECOND
    )  # the row one microsecond before the cutoff moved, the one on it stayed
    assert (
        conn.execute(
            text("SELECT min(processed_at) FROM de_enrollment_lead_log WHERE client_id = :c"), {"c": a.client}
        ).scalar()
        == log_cutoff
    )
    conn.rollback()
    assert lead_histories(conn, a.leads) == histories

    # the SOP's own query still finds a live lead-log row with its run; the view finds archived ones too
    live_lead = a.leads[-1]
    sop = conn.execute(text(SOP_LEAD_HISTORY.replace("<lead-uuid>", live_lead))).all()
    assert [(str(r.run_id), r.run_at) for r in sop] == [(a.straggler_run, datetime(2023, 12, 10, 8, tzinfo=UTC))]
    archived_lead = a.leads[0]
    assert conn.execute(text(SOP_LEAD_HISTORY.replace("<lead-uuid>", archived_lead))).all() == []
    assert histories[archived_lead][0][1] == datetime(2023, 12, 1, 9, 30, tzinfo=UTC)  # run_at found in the archive
    conn.rollback()

    # again on the same day: nothing to do, nothing written
    state = where_rows_are(conn, a.client)
    again = archive_clients(engine, [a.client], ArchivalSettings(), as_of=APRIL_1)
    assert (again.results[0].lead_log_archived, again.results[0].runs_archived) == (0, 0)
    assert where_rows_are(conn, a.client) == state

    # May 1st: the straggler's lead-log row is now old, so the straggler goes with the next month's runs
    may = archive_clients(engine, [a.client], ArchivalSettings(), as_of=MAY_1)
    [result] = may.results
    # cutoffs April 1st and February 1st: 8 more regular runs (2 rows each), the 3 boundary rows left, the straggler's
    assert result.lead_log_archived == older(a.log_times, may.cutoffs.lead_log) - 51 == 8 * 2 + 3 + 1
    # 8 more regular runs, the run exactly on January 2nd, and the straggler now that its lead-log row moved
    assert result.runs_archived == older(a.run_times, may.cutoffs.runs) - 9 == 8 + 1 + 1
    assert result.runs_kept_for_live_logs == 0
    assert everything(conn, a.client) == all_of_a
    assert lead_histories(conn, a.leads) == histories

    # the other client was never touched
    assert where_rows_are(conn, b.client) == b_tables and everything(conn, b.client) == all_of_b


def test_dry_run_counts_what_would_move_and_changes_nothing(conn: Connection, engine: Engine) -> None:
    a = build_history(conn, "Acme")
    state = where_rows_are(conn, a.client)
    plan = archive_clients(engine, [a.client], ArchivalSettings(dry_run=True), as_of=APRIL_1)
    assert where_rows_are(conn, a.client) == state
    assert plan.maintenance is not None and not plan.maintenance.vacuumed
    done = archive_clients(engine, [a.client], ArchivalSettings(), as_of=APRIL_1)
    would, did = plan.results[0], done.results[0]
    assert (would.lead_log_archived, would.runs_archived, would.runs_kept_for_live_logs) == (
        did.lead_log_archived,
        did.runs_archived,
        did.runs_kept_for_live_logs,
    )


def test_retention_days_are_configurable(conn: Connection, engine: Engine) -> None:
    a = build_history(conn, "Acme")
    settings = ArchivalSettings(runs_retention_days=10, lead_log_retention_days=5)
    [result] = archive_clients(engine, [a.client], settings, as_of=MAY_1).results
    assert result.lead_log_archived == older(a.log_times, MAY_1 - timedelta(days=5))
    assert result.runs_archived == older(a.run_times, MAY_1 - timedelta(days=10))


def test_a_mismatch_rolls_the_client_back_and_others_go_on(conn: Connection, engine: Engine) -> None:
    a, b = build_history(conn, "Acme"), build_history(conn, "Bolt")
    # an archive that silently drops one of Acme's rows: the copy count no longer matches
    conn.execute(
        text(
            f"""
            CREATE FUNCTION test_drop_one() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.client_id = '{a.client}' AND NEW.action = 'error' THEN RETURN NULL; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_drop_one BEFORE INSERT ON de_enrollment_lead_log_archive
                FOR EACH ROW EXECUTE FUNCTION test_drop_one();
            """
        )
    )
    conn.commit()
    state, all_of_b = where_rows_are(conn, a.client), everything(conn, b.client)
    sweep = archive_clients(engine, [a.client, b.client], ArchivalSettings(), as_of=APRIL_1)
    [failure] = sweep.failures
    assert (failure.client_id, failure.client_name) == (a.client, "Acme")
    assert "lead-log rows: 51 matched, 38 copied, 38 deleted; rolled back" in failure.error
    assert where_rows_are(conn, a.client) == state
    assert [r.client_id for r in sweep.results] == [b.client] and sweep.results[0].lead_log_archived == 51
    assert everything(conn, b.client) == all_of_b


@pytest.mark.parametrize(
    "settings",
    [
        {"runs_retention_days": 0},
        {"lead_log_retention_days": -30},
        {"runs_retention_days": True},
        {"lead_log_retention_days": 2.5},
        {"runs_retention_days": 40_000},
        {"size_warning_bytes": 0},
    ],
)
def test_bad_settings_are_refused(settings: dict) -> None:
    with pytest.raises(ConfigError):
        ArchivalSettings(**settings)


def test_unknown_client_changes_nothing(conn: Connection, engine: Engine) -> None:
    a = build_history(conn, "Acme")
    state = where_rows_are(conn, a.client)
    with pytest.raises(UnknownClientError):
        archive_clients(engine, [a.client, str(uuid.uuid4())], ArchivalSettings(), as_of=APRIL_1)
    with pytest.raises(ConfigError, match="timezone-aware"):
        archive_clients(engine, [a.client], ArchivalSettings(), as_of=datetime(2024, 4, 1))
    assert where_rows_are(conn, a.client) == state


def vacuum_counts(conn: Connection) -> dict[str, int]:
    counts = dict(
        conn.execute(
            text(
                "SELECT relname, vacuum_count FROM pg_stat_user_tables"
                " WHERE relname IN ('de_enrollment_runs', 'de_enrollment_lead_log')"
            )
        ).all()
    )
    conn.rollback()
    return counts


def test_vacuum_runs_once_per_sweep_and_sizes_are_reported(conn: Connection, engine: Engine) -> None:
    clients = [build_history(conn, f"Client {i}").client for i in range(3)]
    before = vacuum_counts(conn)
    sweep = archive_clients(engine, clients, ArchivalSettings(size_warning_bytes=16 * 1024), as_of=APRIL_1)
    assert len(sweep.results) == 3 and sweep.lead_log_archived == 3 * 51
    assert {k: v - before[k] for k, v in vacuum_counts(conn).items()} == {
        "de_enrollment_runs": 1,
        "de_enrollment_lead_log": 1,
    }
    maintenance = sweep.maintenance
    assert maintenance is not None and maintenance.vacuumed
    sizes = {t.name: t.bytes for t in maintenance.table_sizes}
    assert set(sizes) == {
        "de_enrollment_runs",
        "de_enrollment_lead_log",
        "de_enrollment_runs_archive",
        "de_enrollment_lead_log_archive",
        "stats_reconciliation_log",
    }
    expected = conn.execute(text("SELECT pg_total_relation_size('de_enrollment_lead_log_archive')")).scalar()
    assert sizes["de_enrollment_lead_log_archive"] == expected
    # every table over the (lowered) threshold is named in a warning
    over = sorted(name for name, size in sizes.items() if size > 16 * 1024)
    assert over and sorted(w.split(" ")[0] for w in maintenance.warnings) == over
    assert "over 16.0 kB: schedule maintenance" in maintenance.warnings[0]
    default = archive_clients(engine, clients, ArchivalSettings(), as_of=APRIL_1)
    assert default.maintenance is not None and default.maintenance.warnings == ()
