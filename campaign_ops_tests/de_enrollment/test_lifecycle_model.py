"""A model-based (stateful property) test of the lead lifecycle on a small real database.

Hypothesis drives a few clients, campaigns and leads through what really happens to them — the platform enrolls,
advances, opts out, books and re-activates leads; operators back up and restore; rows age and are archived;
de-enrollment passes run (set-based and the SOP's batched path), get interrupted at a random chunk, run two at a
time, or are done by hand with the SOP's functions; reconciliation runs — and checks after every step that the
project's promises hold. The platform keeps its campaign counters (it refreshes them when it changes a lead), so
any drift the invariants see comes from this project's code.

Semantics the invariants are written against: a lead whose enrollment already has a de-enrolled record (live or
archived) and is active again is "held": left as it is and logged once with action `skipped`. `restore` writes
a `restored` lead-log entry per lead it puts back, which re-opens that enrollment for the next pass.

One database per test (a template copy), reset with TRUNCATE between examples: ~60 ms, against ~340 ms to copy
the template and ~2 s to drop the copy (measured on the embedded server, two cores under load).
Fixed seed; LIFECYCLE_EXAMPLES (default 40) asks for more examples on a longer run.
"""

import os
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import Connection, Engine, text

from bench.sop_queries import SOP_STATS_DRIFT, SOP_STATS_MATCH, SOP_STUCK_LEADS
from campaign_ops.archival.core import ArchivalSettings, archive_clients
from campaign_ops.backups.core import backup_tables, complete_backup_days, create_backup, restore_backup
from campaign_ops.db.engine import make_engine
from campaign_ops.de_enrollment.core import de_enroll_clients
from campaign_ops.de_enrollment.runs import SweepResult
from campaign_ops.de_enrollment.settings import DeEnrollmentSettings
from campaign_ops.reconciliation.core import ReconciliationSettings, reconcile_clients
from campaign_ops_tests.factories import add_campaign, add_client, add_lead

EXAMPLES = int(os.environ.get("LIFECYCLE_EXAMPLES", "40"))
STEPS = 14
MAX_LEADS = 8
CAMPAIGN_MESSAGES = ((2, 3), (1, 3))  # per client: its campaigns' message counts

RESET = """
TRUNCATE clients, de_enrollment_runs_archive, de_enrollment_lead_log_archive, stats_reconciliation_log CASCADE
"""

# A lead is held when its current enrollment already has a de-enrolled record, live or archived, that no later
# `restored` entry re-opened.
HELD = """
SELECT l.id::text
  FROM leads l
 WHERE l.is_active
   AND EXISTS (SELECT 1 FROM de_enrollment_lead_history d
                WHERE d.lead_id = l.id AND d.action = 'de_enrolled'
                  AND d.campaign_id IS NOT DISTINCT FROM l.campaign_link_id
                  AND d.enrolled_at IS NOT DISTINCT FROM l.enrolled_at
                  AND NOT EXISTS (SELECT 1 FROM de_enrollment_lead_history r
                                   WHERE r.lead_id = l.id AND r.action = 'restored' AND r.log_id > d.log_id))
"""

# Due: what the SOP's stuck-leads query counts, plus opted-out and booked leads still active.
DUE_CONDITION = """
l.is_active AND l.completed_at IS NULL
AND (l.opted_out OR l.booked_meeting OR l.current_message_position >= jsonb_array_length(c.messages))
"""

# Two de-enrolled records of one enrollment with no `restored` entry of that lead between them.
DOUBLE_DE_ENROLLMENTS = """
WITH d AS (
    SELECT log_id, lead_id, campaign_id, enrolled_at,
           lag(log_id) OVER (PARTITION BY lead_id, campaign_id, enrolled_at ORDER BY log_id) AS previous
      FROM de_enrollment_lead_history
     WHERE action = 'de_enrolled'
)
SELECT d.lead_id::text, d.previous, d.log_id
  FROM d
 WHERE d.previous IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM de_enrollment_lead_history r
                    WHERE r.lead_id = d.lead_id AND r.action = 'restored'
                      AND r.log_id > d.previous AND r.log_id < d.log_id)
"""

# Each run row (live or archived) against its lead-log rows (live or archived).
RUN_COUNT_MISMATCHES = """
SELECT r.id::text, r.status, r.leads_de_enrolled,
       (SELECT count(*) FROM de_enrollment_lead_history h
         WHERE h.run_id = r.id AND h.action = 'de_enrolled') AS logged
  FROM (SELECT id, status, leads_de_enrolled FROM de_enrollment_runs
        UNION ALL SELECT id, status, leads_de_enrolled FROM de_enrollment_runs_archive) r
 WHERE r.leads_de_enrolled <> (SELECT count(*) FROM de_enrollment_lead_history h
                                WHERE h.run_id = r.id AND h.action = 'de_enrolled')
"""

HISTORY_AND_LOG = """
SELECT l.id::text, jsonb_array_length(l.campaign_history) AS entries,
       (SELECT count(*) FROM de_enrollment_lead_history h
         WHERE h.lead_id = l.id AND h.action = 'de_enrolled') AS de_enrolled
  FROM leads l
"""

leads_st = st.integers(0, MAX_LEADS - 1)
modes = st.sampled_from(["set_based", "batched"])
chunks = st.integers(1, 3)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (a BaseException, like Dagster's run termination) raised at a chosen chunk."""


class LeadLifecycle(RuleBasedStateMachine):
    engine: Engine  # bound by the test

    def __init__(self) -> None:
        super().__init__()
        self.conn: Connection = self.engine.connect()
        self.conn.execute(text(RESET))
        for day in complete_backup_days(self.conn):
            tables = backup_tables(day)
            quote = self.conn.dialect.identifier_preparer.quote
            self.conn.exec_driver_sql(f"DROP TABLE {quote(tables.leads)}, {quote(tables.campaigns)}")
        self.clients: list[str] = []
        self.campaigns: dict[str, list[str]] = {}  # client -> its campaigns
        for i, messages in enumerate(CAMPAIGN_MESSAGES):
            client = add_client(self.conn, name=f"Model client {i}")
            self.clients.append(client)
            self.campaigns[client] = [add_campaign(self.conn, client, messages=m) for m in messages]
        self.conn.commit()
        self.leads: list[tuple[str, str]] = []  # (lead, its client)
        # per lead: history entries minus de-enrolled records; 0 for every lead, changed only by a restore
        # (which puts a backed-up history back while the lead log keeps every record)
        self.history_offset: dict[str, int] = {}
        self.backup: dict[str, int] | None = None  # lead -> history entries at the backup
        self.complete = False  # the last step was a de-enrollment pass over every client, not interrupted

    def teardown(self) -> None:
        self.conn.close()

    # ---- helpers

    def _lead(self, index: int) -> tuple[str, str]:
        return self.leads[index % len(self.leads)]

    def _platform(self, sql: str, lead: str, **params: object) -> None:
        """What the platform does to one lead, with its campaign's counters kept as it keeps them."""
        with self.conn.begin():
            old = self.conn.execute(text("SELECT campaign_link_id FROM leads WHERE id = :l"), {"l": lead}).scalar()
            self.conn.execute(text(sql), {"l": lead, **params})
            self.conn.execute(
                text(
                    "SELECT refresh_campaign_counters(ARRAY(SELECT DISTINCT c FROM unnest(ARRAY["
                    "CAST(:old AS uuid), (SELECT campaign_link_id FROM leads WHERE id = :l)]) c WHERE c IS NOT NULL))"
                ),
                {"old": old, "l": lead},
            )

    def _query(self, sql: str, **params: object) -> list:
        rows = self.conn.execute(text(sql), params).all()
        self.conn.commit()
        return rows

    def _settings(self, mode: str, chunk: int) -> DeEnrollmentSettings:
        return DeEnrollmentSettings(mode=mode, chunk_size=chunk, batch_size=chunk, max_runtime_ms=120_000)  # type: ignore[arg-type]

    def _assert_no_failed_client(self, sweep: SweepResult) -> None:
        failed = [(c.client_name, c.error_details) for c in sweep.failed]
        assert not failed, f"a client's pass failed: {failed}"

    # ---- the platform

    @precondition(lambda self: len(self.leads) < MAX_LEADS)
    @rule(client=st.integers(0, 1), campaign=st.integers(0, 1), position=st.integers(0, 3))
    def enroll_new_lead(self, client: int, campaign: int, position: int) -> None:
        client_id = self.clients[client]
        campaign_id = self.campaigns[client_id][campaign]
        lead = add_lead(self.conn, client_id, campaign_id, position=position)
        self.conn.execute(text("SELECT refresh_campaign_counters(ARRAY[CAST(:c AS uuid)])"), {"c": campaign_id})
        self.conn.commit()
        self.leads.append((lead, client_id))
        self.history_offset[lead] = 0
        self.complete = False

    @precondition(lambda self: self.leads)
    @rule(lead=leads_st, campaign=st.integers(0, 1))
    def re_enroll(self, lead: int, campaign: int) -> None:
        """A lead that left its campaign is enrolled again (a new enrollment: a new enrolled_at)."""
        lead_id, client_id = self._lead(lead)
        self._platform(
            "UPDATE leads SET campaign_link_id = :campaign,"
            " enrolled_at = clock_timestamp(), current_message_position = 0, is_active = true, completed_at = NULL,"
            " opted_out = false, booked_meeting = false WHERE id = :l AND NOT is_active",
            lead_id,
            campaign=self.campaigns[client_id][campaign],
        )
        self.complete = False

    @precondition(lambda self: self.leads)
    @rule(lead=leads_st, steps=st.integers(1, 2))
    def advance(self, lead: int, steps: int) -> None:
        self._platform(
            "UPDATE leads SET current_message_position = current_message_position + :steps WHERE id = :l AND is_active",
            self._lead(lead)[0],
            steps=steps,
        )
        self.complete = False

    @precondition(lambda self: self.leads)
    @rule(lead=leads_st)
    def opt_out(self, lead: int) -> None:
        self._platform("UPDATE leads SET opted_out = true WHERE id = :l", self._lead(lead)[0])
        self.complete = False

    @precondition(lambda self: self.leads)
    @rule(lead=leads_st)
    def book(self, lead: int) -> None:
        self._platform("UPDATE leads SET booked_meeting = true WHERE id = :l", self._lead(lead)[0])
        self.complete = False

    @precondition(lambda self: self.leads)
    @rule(lead=leads_st)
    def platform_reactivates(self, lead: int) -> None:
        """The platform turns a lead back on (same enrollment): is_active back to true."""
        self._platform("UPDATE leads SET is_active = true WHERE id = :l AND NOT is_active", self._lead(lead)[0])
        self.complete = False

    # ---- operators and the other jobs

    @rule()
    def backup(self) -> None:
        create_backup(self.conn, replace=True)
        self.backup = {lead: entries for lead, entries, _ in self._query(HISTORY_AND_LOG)}
        self.complete = False

    @precondition(lambda self: self.backup is not None)
    @rule()
    def restore(self) -> None:
        assert self.backup is not None
        day = complete_backup_days(self.conn)[-1]
        self.conn.rollback()
        restore_backup(self.conn, day)
        for lead, _entries, de_enrolled in self._query(HISTORY_AND_LOG):
            if lead in self.backup:  # leads enrolled since the backup are left as they are
                self.history_offset[lead] = self.backup[lead] - de_enrolled
        self.complete = False

    @rule(days=st.sampled_from([31, 91]))
    def age_rows_and_archive(self, days: int) -> None:
        """Time passes for the monitoring rows (all of them alike, so their order stays); monthly archival."""
        with self.conn.begin():
            for table, column in (
                ("de_enrollment_lead_log", "processed_at"),
                ("de_enrollment_lead_log_archive", "processed_at"),
                ("de_enrollment_runs", "run_at"),
                ("de_enrollment_runs_archive", "run_at"),
            ):
                self.conn.execute(text(f"UPDATE {table} SET {column} = {column} - make_interval(days => {days})"))
        sweep = archive_clients(self.engine, self.clients, ArchivalSettings())
        assert not sweep.failures, sweep.failures

    @rule()
    def reconcile(self) -> None:
        sweep = reconcile_clients(self.engine, self.clients, ReconciliationSettings())
        assert not sweep.failures, sweep.failures
        # reconciliation's definitions are the troubleshooting query's: nothing may drift after it
        assert self._query(SOP_STATS_DRIFT) == []

    # ---- de-enrollment

    @rule(mode=modes, chunk=chunks)
    def de_enrollment_pass(self, mode: str, chunk: int) -> None:
        sweep = de_enroll_clients(self.engine, self.clients, self._settings(mode, chunk))
        self._assert_no_failed_client(sweep)
        self.complete = all(c.status == "success" for c in sweep.clients)
        assert self.complete, [(c.client_name, c.status, c.error_details) for c in sweep.clients]

    @rule(mode=modes, chunk=chunks, at_chunk=st.integers(1, 3))
    def interrupted_pass(self, mode: str, chunk: int, at_chunk: int) -> None:
        """Ctrl-C (or Dagster's terminate) arrives while the pass reports its at_chunk-th chunk."""
        seen: list[str] = []

        def log_line(line: str) -> None:
            if ": chunk " in line:
                seen.append(line)
                if len(seen) == at_chunk:
                    raise Interrupted(line)

        before = {r[0] for r in self._query("SELECT id::text FROM de_enrollment_runs")}
        try:
            sweep = de_enroll_clients(self.engine, self.clients, self._settings(mode, chunk), log_line=log_line)
        except Interrupted:
            rows = self._query(
                "SELECT status, error_details FROM de_enrollment_runs WHERE NOT (id::text = ANY(:before))"
                " ORDER BY run_at DESC, id LIMIT 1",
                before=list(before),
            )
            assert rows, "the interrupted pass left no run row"
            status, details = rows[0]
            assert status in ("partial", "failed") and "interrupt" in (details or ""), (
                f"an interrupted pass was recorded {status!r} ({details!r})"
            )
            self.complete = False
        else:  # fewer chunks than at_chunk: an ordinary complete pass
            self._assert_no_failed_client(sweep)
            self.complete = all(c.status == "success" for c in sweep.clients)

    @rule(modes=st.tuples(modes, modes), chunk=chunks)
    def two_passes_at_once(self, modes: tuple[str, str], chunk: int) -> None:
        sweeps: list[SweepResult] = []
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def one(mode: str) -> None:
            try:
                start.wait()
                sweeps.append(de_enroll_clients(self.engine, self.clients, self._settings(mode, chunk)))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(m,)) for m in modes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for sweep in sweeps:
            self._assert_no_failed_client(sweep)
        # a client's lock held by the other pass is 'skipped'; between them every client was done
        for client in self.clients:
            statuses = {c.status for s in sweeps for c in s.clients if c.client_id == client}
            assert statuses <= {"success", "skipped"} and "success" in statuses, statuses
        self.complete = True

    @precondition(lambda self: self.leads)
    @rule(client=st.integers(0, 1))
    def sop_batches_by_hand_at_once(self, client: int) -> None:
        """An operator follows the runbook: the client's due leads from get_leads_for_de_enrollment, split in two
        halves, each applied by process_de_enrollment_batch in its own session at the same time."""
        client_id = self.clients[client]
        due = [r[0] for r in self._query("SELECT lead_id FROM get_leads_for_de_enrollment(:c, 1000)", c=client_id)]
        halves = [due[: len(due) // 2], due[len(due) // 2 :]]
        first_done = threading.Event()
        errors: list[BaseException] = []

        def apply(half: list, first: bool) -> None:
            try:
                with self.engine.connect() as conn:
                    run_id = conn.execute(
                        text("INSERT INTO de_enrollment_runs (client_id) VALUES (:c) RETURNING id"), {"c": client_id}
                    ).scalar_one()
                    conn.commit()
                    if not first:
                        first_done.wait(10)
                    done = conn.execute(
                        text("SELECT process_de_enrollment_batch(:r, CAST(:ids AS uuid[]))"), {"r": run_id, "ids": half}
                    ).scalar_one()
                    if first:  # the second session starts its batch while this one is still open
                        first_done.set()
                        threading.Event().wait(0.3)
                    conn.commit()
                    conn.execute(
                        text(
                            "UPDATE de_enrollment_runs SET status = 'success', leads_de_enrolled = :n,"
                            " finished_at = now() WHERE id = :r"
                        ),
                        {"n": done, "r": run_id},
                    )
                    conn.commit()
            except BaseException as exc:
                errors.append(exc)
                first_done.set()

        threads = [threading.Thread(target=apply, args=(h, i == 0)) for i, h in enumerate(halves)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        self.complete = False
        # the counters of the client's campaigns are exact once its due leads are done (the SOP's query, verbatim)
        campaigns = set(self.campaigns[client_id])
        unexplained = [r for r in self._stats_match_unexplained() if str(r.id) in campaigns]
        assert not unexplained, f"campaign counters wrong after the SOP's batches: {unexplained}"

    # ---- invariants

    def _held(self) -> set[str]:
        return {r[0] for r in self._query(HELD)}

    def _stats_match_unexplained(self) -> list:
        """The SOP's 6.2 stats-match rows not explained by held leads (active opted-out leads left as they are)."""
        held_opted_out = dict(
            self._query(
                "SELECT campaign_link_id::text, count(*) FROM leads"
                " WHERE id::text = ANY(:held) AND opted_out GROUP BY 1",
                held=list(self._held()),
            )
        )
        return [
            r
            for r in self._query(SOP_STATS_MATCH)
            if r.actual_active - r.reported_active != held_opted_out.get(str(r.id), 0)
        ]

    @invariant()
    def after_a_complete_pass_nothing_is_stuck_and_stats_match(self) -> None:
        if not self.complete:
            return
        held = list(self._held())
        held_stuck = self._query(
            "SELECT count(*) FROM leads l JOIN campaigns c ON l.campaign_link_id = c.id WHERE l.id::text = ANY(:h)"
            " AND l.is_active AND l.completed_at IS NULL"
            " AND l.current_message_position >= jsonb_array_length(c.messages)",
            h=held,
        )[0][0]
        assert self._query(SOP_STUCK_LEADS)[0].stuck_leads == held_stuck, "due leads left after a complete pass"
        assert self._stats_match_unexplained() == [], "SOP 6.2 stats match: counters wrong after a complete pass"
        assert self._query(SOP_STATS_DRIFT) == [], "SOP troubleshooting stats drift after a complete pass"
        # every held lead that is due was logged `skipped`, once, since its de-enrollment
        unlogged = self._query(
            f"""
            SELECT l.id::text,
                   (SELECT count(*) FROM de_enrollment_lead_history s
                     WHERE s.lead_id = l.id AND s.action = 'skipped'
                       AND s.log_id > (SELECT max(d.log_id) FROM de_enrollment_lead_history d
                                        WHERE d.lead_id = l.id AND d.action = 'de_enrolled')) AS skipped
              FROM leads l JOIN campaigns c ON c.id = l.campaign_link_id
             WHERE l.id::text = ANY(:h) AND {DUE_CONDITION}
            """,
            h=held,
        )
        assert all(n == 1 for _, n in unlogged), f"held due leads not logged `skipped` exactly once: {unlogged}"

    @invariant()
    def no_enrollment_de_enrolled_twice_without_a_restore_between(self) -> None:
        assert self._query(DOUBLE_DE_ENROLLMENTS) == []

    @invariant()
    def one_history_entry_per_de_enrollment(self) -> None:
        wrong = [
            (lead, entries, de_enrolled, self.history_offset.get(lead, 0))
            for lead, entries, de_enrolled in self._query(HISTORY_AND_LOG)
            if entries != de_enrolled + self.history_offset.get(lead, 0)
        ]
        assert not wrong, f"(lead, history entries, de-enrolled records, offset from a restore): {wrong}"

    @invariant()
    def run_rows_count_what_their_lead_log_holds(self) -> None:
        assert self._query(RUN_COUNT_MISMATCHES) == []

    @invariant()
    def no_pass_failed_but_for_an_interruption(self) -> None:
        failed = self._query(
            "SELECT error_details FROM de_enrollment_runs WHERE status = 'failed'"
            " AND coalesce(error_details, '') NOT LIKE '%interrupt%'"
            " AND coalesce(error_details, '') NOT LIKE '%abandon%'"
        )
        assert failed == [], failed


@pytest.fixture
def model_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def test_lead_lifecycle_model(model_engine: Engine) -> None:
    machine: Callable[[], LeadLifecycle] = type("BoundLeadLifecycle", (LeadLifecycle,), {"engine": model_engine})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
