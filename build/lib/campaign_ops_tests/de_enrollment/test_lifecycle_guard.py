"""A lead back to active after its de-enrollment: skipped once (never a failed chunk), restores re-open, the guard
spans live and archive, operators decide; the duplicate and skipped checks read it right."""

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, text

from campaign_ops.archival.core import ArchivalSettings, archive_clients
from campaign_ops.backups.core import create_backup, restore_backup
from campaign_ops.checks.core import evaluate_duplicate_de_enrollments, evaluate_skipped_de_enrollments
from campaign_ops.cli import main
from campaign_ops.de_enrollment.skipped import NotPendingError, pending_skipped, resolve_skipped
from campaign_ops.errors import ConfigError
from campaign_ops_tests.de_enrollment.conftest import make_client, run, snapshot
from campaign_ops_tests.factories import add_lead


def reactivate(conn: Connection, *lead_ids: str) -> None:
    """The platform puts leads back to active (their position still at the end of the sequence)."""
    conn.execute(
        text("UPDATE leads SET is_active = true, completed_at = NULL WHERE id = ANY(CAST(:ids AS uuid[]))"),
        {"ids": list(lead_ids)},
    )
    conn.commit()


def log_rows(conn: Connection, lead_id: str) -> list[tuple]:
    rows = conn.execute(
        text(
            "SELECT action, run_id::text, error_message FROM de_enrollment_lead_history"
            " WHERE lead_id = :l ORDER BY log_id"
        ),
        {"l": lead_id},
    ).all()
    conn.commit()
    return [tuple(r) for r in rows]


def test_a_lead_back_to_active_is_skipped_once_and_never_fails_its_client(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=4)
    conn.commit()
    first = run(engine, data.client_id).clients[0]
    assert (first.status, first.leads_de_enrolled) == ("success", 6)
    back = data.due_completed[0]
    reactivate(conn, back)
    newly_due = add_lead(conn, data.client_id, data.campaign_id, position=3)
    conn.commit()

    second = run(engine, data.client_id).clients[0]
    # before: UniqueViolation rolled the chunk back: failed, 0 de-enrolled, the new due lead stuck for ever
    assert (second.status, second.leads_de_enrolled, second.already_de_enrolled) == ("success", 1, 1)
    assert conn.execute(text("SELECT is_active FROM leads WHERE id = :l"), {"l": newly_due}).scalar() is False
    assert conn.execute(text("SELECT is_active FROM leads WHERE id = :l"), {"l": back}).scalar() is True  # as it is
    [de_enrolled, skipped] = log_rows(conn, back)
    assert de_enrolled[:2] == ("de_enrolled", first.run_row_id)
    assert skipped[:2] == ("skipped", second.run_row_id)
    assert f"by run {first.run_row_id}" in skipped[2]  # names the earlier run
    row = conn.execute(
        text("SELECT leads_de_enrolled, leads_skipped FROM de_enrollment_runs WHERE id = :r"),
        {"r": second.run_row_id},
    ).one()
    assert tuple(row) == (1, 1)

    # recorded once: the next passes leave it alone without a new row
    third = run(engine, data.client_id).clients[0]
    assert (third.status, third.leads_de_enrolled, third.already_de_enrolled) == ("success", 0, 0)
    assert len(log_rows(conn, back)) == 2
    # the asset check's failing rows
    check = evaluate_skipped_de_enrollments(conn, [data.client_id])
    assert [x.lead_id for x in check.leads] == [back] and check.level.value == "error"
    assert check.leads[0].skipped_by_run == second.run_row_id
    assert back in check.tables()["failing_leads"]


def test_the_sop_batch_function_skips_it_too(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=3)
    conn.commit()
    run(engine, data.client_id)
    reactivate(conn, *data.due_completed)
    r = run(engine, data.client_id, mode="batched", batch_size=2).clients[0]
    assert (r.status, r.leads_de_enrolled, r.already_de_enrolled) == ("success", 0, 3)
    assert [x.lead_id for x in pending_skipped(conn)] == sorted(data.due_completed)


def test_a_legacy_enrollment_without_enrolled_at_is_guarded_too(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=2)
    conn.execute(text("UPDATE leads SET enrolled_at = NULL WHERE id = :l"), {"l": data.due_completed[0]})
    conn.commit()
    run(engine, data.client_id)
    reactivate(conn, data.due_completed[0])
    r = run(engine, data.client_id).clients[0]
    assert (r.status, r.leads_de_enrolled, r.already_de_enrolled) == ("success", 0, 1)


def test_the_guard_spans_the_archive(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=2)
    conn.commit()
    first = run(engine, data.client_id).clients[0]
    now = conn.execute(text("SELECT now()")).scalar_one()
    conn.commit()
    archived = archive_clients(
        engine, [data.client_id], ArchivalSettings(lead_log_retention_days=1), as_of=now + timedelta(days=2)
    )
    assert archived.lead_log_archived == first.leads_de_enrolled
    reactivate(conn, data.due_completed[0])

    second = run(engine, data.client_id).clients[0]
    # before: with the live row archived the index saw nothing and the enrollment was de-enrolled a second time
    assert (second.status, second.leads_de_enrolled, second.already_de_enrolled) == ("success", 0, 1)
    history = conn.execute(
        text("SELECT jsonb_array_length(campaign_history) FROM leads WHERE id = :l"), {"l": data.due_completed[0]}
    ).scalar()
    assert history == 1
    assert evaluate_duplicate_de_enrollments(conn, [data.client_id]).total == 0


def test_restore_re_opens_enrollments_and_the_next_pass_de_enrolls_them_as_new_events(
    conn: Connection, engine: Engine
) -> None:
    data = make_client(conn, due=4)
    conn.commit()
    create_backup(conn)
    first = run(engine, data.client_id).clients[0]
    assert first.leads_de_enrolled == 6
    restored = restore_backup(conn, conn.execute(text("SELECT to_char(current_date, 'YYYYMMDD')")).scalar_one())
    conn.commit()
    assert restored.enrollments_reopened == 6

    second = run(engine, data.client_id).clients[0]
    # before: 'failed' (UniqueViolation), 0 de-enrolled, the same every 15 minutes
    assert (second.status, second.leads_de_enrolled, second.already_de_enrolled) == ("success", 6, 0)
    actions = [a for a, _, _ in log_rows(conn, data.due_completed[0])]
    assert actions == ["de_enrolled", "restored", "de_enrolled"]
    assert "restored from backup leads_backup_" in log_rows(conn, data.due_completed[0])[1][2]
    dup = evaluate_duplicate_de_enrollments(conn, [data.client_id])
    assert dup.total == 0, dup.summary
    # one history entry per de-enrollment: the restore took the first one back with the lead's state
    assert (
        conn.execute(
            text("SELECT jsonb_array_length(campaign_history) FROM leads WHERE id = :l"), {"l": data.due_completed[0]}
        ).scalar()
        == 1
    )


def test_two_de_enrollments_without_a_restore_between_are_still_duplicates(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=1)
    conn.commit()
    first = run(engine, data.client_id).clients[0]
    lead = data.due_completed[0]
    conn.execute(
        text(
            "INSERT INTO de_enrollment_lead_log (run_id, lead_id, client_id, campaign_id, enrolled_at, action, outcome)"
            " SELECT run_id, lead_id, client_id, campaign_id, enrolled_at, 'de_enrolled', outcome"
            " FROM de_enrollment_lead_log WHERE lead_id = :l"
        ),
        {"l": lead},
    )
    conn.commit()
    dup = evaluate_duplicate_de_enrollments(conn, [data.client_id])
    assert [(d.lead_id, d.times_logged) for d in dup.log_duplicates] == [(lead, 2)]
    assert first.status == "success"


def test_operator_decides_new_enrollment(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=2)
    conn.commit()
    run(engine, data.client_id)
    lead = data.due_completed[0]
    reactivate(conn, lead)
    run(engine, data.client_id)
    result = CliRunner().invoke(
        main,
        [
            "resolve-skipped",
            "--lead-id",
            lead,
            "--as",
            "new-enrollment",
            "--reason",
            "re-enrolled by sales",
            "--by",
            "ops-anna",
        ],
        env={"DATABASE_URL": str(engine.url.render_as_string(hide_password=False))},
    )
    assert result.exit_code == 0, result.output
    assert "1 lead(s) resolved as new-enrollment" in result.output
    assert log_rows(conn, lead)[-1][0] == "restored"
    assert log_rows(conn, lead)[-1][2] == "resolved as a new enrollment by ops-anna: re-enrolled by sales"
    r = run(engine, data.client_id).clients[0]
    assert (r.leads_de_enrolled, r.already_de_enrolled) == (1, 0)
    assert [a for a, _, _ in log_rows(conn, lead)] == ["de_enrolled", "skipped", "restored", "de_enrolled"]
    dup = evaluate_duplicate_de_enrollments(conn, [data.client_id])
    assert dup.total == 0, dup.summary  # two history entries, a restored entry between their log rows
    assert evaluate_skipped_de_enrollments(conn, [data.client_id]).leads == []


def test_operator_puts_it_back_to_de_enrolled(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=2)
    conn.commit()
    run(engine, data.client_id)
    lead = data.due_completed[0]
    reactivate(conn, lead)
    run(engine, data.client_id)
    resolve_skipped(conn, [lead], "de-enrolled", reason="platform glitch", by="ops-ben")
    state = conn.execute(text("SELECT is_active, completed_at IS NOT NULL FROM leads WHERE id = :l"), {"l": lead}).one()
    assert tuple(state) == (False, True)
    assert log_rows(conn, lead)[-1][0::2] == ("resolved", "put back to de-enrolled by ops-ben: platform glitch")
    counters = conn.execute(
        text("SELECT active_leads_count, completed_leads_count FROM campaigns WHERE id = :c"), {"c": data.campaign_id}
    ).one()
    actual = conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE is_active AND NOT opted_out),"
            " count(*) FILTER (WHERE completed_at IS NOT NULL)"
            " FROM leads WHERE campaign_link_id = :c"
        ),
        {"c": data.campaign_id},
    ).one()
    assert tuple(counters) == tuple(actual)
    conn.commit()
    # a later return of the lead is skipped again (the enrollment stays closed), once
    reactivate(conn, lead)
    r = run(engine, data.client_id).clients[0]
    assert (r.leads_de_enrolled, r.already_de_enrolled) == (0, 1)


def test_resolving_refuses_bad_input_and_changes_nothing(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=2)
    conn.commit()
    run(engine, data.client_id)
    reactivate(conn, data.due_completed[0])
    run(engine, data.client_id)
    before = snapshot(conn)
    log_before = conn.execute(text("SELECT count(*) FROM de_enrollment_lead_log")).scalar()
    conn.commit()
    with pytest.raises(NotPendingError, match=data.due_completed[1]):
        resolve_skipped(conn, data.due_completed, "new-enrollment", reason="x", by="me")
    with pytest.raises(ConfigError, match="not a uuid"):
        resolve_skipped(conn, ["nope"], "new-enrollment", reason="x", by="me")
    with pytest.raises(ConfigError, match="reason"):
        resolve_skipped(conn, [data.due_completed[0]], "de-enrolled", reason="  ", by="me")
    result = CliRunner().invoke(
        main,
        ["resolve-skipped", "--lead-id", data.due_completed[1], "--as", "de-enrolled", "--reason", "r"],
        env={"DATABASE_URL": str(engine.url.render_as_string(hide_password=False))},
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "no skipped de-enrollment waiting" in result.output
    assert snapshot(conn) == before
    assert conn.execute(text("SELECT count(*) FROM de_enrollment_lead_log")).scalar() == log_before


def test_restore_recounts_counters_of_leads_created_since_the_backup(conn: Connection, engine: Engine) -> None:
    data = make_client(conn, due=2)
    conn.commit()
    create_backup(conn)
    add_lead(conn, data.client_id, data.campaign_id, position=0)  # enrolled after the backup
    conn.execute(text("SELECT refresh_campaign_counters(ARRAY[CAST(:c AS uuid)])"), {"c": data.campaign_id})
    conn.commit()
    result = restore_backup(conn, conn.execute(text("SELECT to_char(current_date, 'YYYYMMDD')")).scalar_one())
    conn.commit()
    # before: the backup's counters were copied back although the new lead is still there (SOP stats drift)
    assert result.counters_corrected == 1
    reported, actual = conn.execute(
        text(
            "SELECT c.active_leads_count, (SELECT count(*) FROM leads l WHERE l.campaign_link_id = c.id"
            " AND l.is_active AND NOT l.opted_out) FROM campaigns c WHERE c.id = :c"
        ),
        {"c": data.campaign_id},
    ).one()
    assert reported == actual
