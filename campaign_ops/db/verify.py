"""`db verify`: every table, column, function, view and index the project expects, checked on the live database.

Seed 002's lesson: a verification that checks 10 things passes while the code reads 60. This list is complete:
it names every object the migrations create and the code and the SOP's queries read.
"""

from dataclasses import dataclass

from sqlalchemy import Connection, text

RUN_COLUMNS: tuple[str, ...] = (
    "id",
    "run_at",
    "client_id",
    "status",
    "leads_evaluated",
    "leads_de_enrolled",
    "leads_skipped",
    "duration_ms",
    "error_details",
    "batch_size",
    "dagster_run_id",
    "finished_at",
)
LEAD_LOG_COLUMNS: tuple[str, ...] = (
    "id",
    "run_id",
    "lead_id",
    "client_id",
    "campaign_id",
    "enrolled_at",
    "action",
    "outcome",
    "messages_received",
    "error_message",
    "processed_at",
    "due_since",  # 0035: when the lead became due (latency = processed_at - due_since)
)
# the archives (0024) are the live tables plus archived_at
EXPECTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "clients": (
        "id",
        "company_name",
        "email",
        "airtable_base_id",
        "is_active",
        "created_at",
        "updated_at",
        "payment_active",
        "phone_number",  # 0026 (the hardening report)
    ),
    "campaigns": (
        "id",
        "client_id",
        "name",
        "messages",
        "created_at",
        "updated_at",
        "is_active",
        "active_leads_count",
        "completed_leads_count",
        "opted_out_count",
        "booked_count",
        "deactivated_at",
        "last_enrollment_at",
        "auto_discovered",
    ),
    "leads": (
        "id",
        "client_id",
        "campaign_link_id",
        "first_name",
        "last_name",
        "phone",
        "email",
        "current_message_position",
        "is_active",
        "opted_out",
        "booked_meeting",
        "enrolled_at",
        "created_at",
        "updated_at",
        "completed_at",
        "campaign_history",
        "campaign_sequence_length",  # 0044: the due triggers decide on the row
    ),
    "de_enrollment_runs": RUN_COLUMNS,
    "de_enrollment_lead_log": LEAD_LOG_COLUMNS,
    "alert_logs": (
        "id",
        "alert_type",
        "alert_key",
        "severity",
        "resource_id",
        "title",
        "message",
        "first_sent_at",
        "last_sent_at",
        "delivered_at",
        "send_count",
        "delivery_status",
        "last_error",
        "resolved_at",
        "created_at",
        "updated_at",
        # alerts: incident and delivery bookkeeping
        "active_since",
        "last_seen_at",
        "seen_count",
        "escalated_at",
        "resolved_notified_at",
        "pending_kind",
        "next_attempt_at",
        "attempt_count",
        "last_payload",
        "silenced_digest",
    ),
    # alerts: silences and the delivery log
    "alert_silences": (
        "id",
        "alert_type",
        "client_id",
        "starts_at",
        "until",
        "created_by",
        "reason",
        "created_at",
        "lifted_at",
        "lifted_by",
    ),
    "alert_deliveries": (
        "id",
        "alert_log_id",
        "message_id",
        "kind",
        "severity",
        "channel",
        "status",
        "http_status",
        "error",
        "silence_id",
        "attempted_at",
    ),
    # reconciliation, archival: its tables
    "stats_reconciliation_log": (
        "id",
        "reconciliation_id",
        "reconciled_at",
        "client_id",
        "campaign_id",
        "counter",
        "reported",
        "actual",
        "difference",
        "dagster_run_id",
    ),
    "de_enrollment_runs_archive": (*RUN_COLUMNS, "archived_at"),
    "de_enrollment_lead_log_archive": (*LEAD_LOG_COLUMNS, "archived_at"),
    # onboarding, lifecycle: 0026 and 0027
    "onboarding_pipeline_states": ("state", "position", "default_threshold_minutes", "is_terminal", "threshold_reason"),
    "onboarding_states": (
        "client_id",
        "current_state",
        "state_entered_at",
        "stuck_detected_at",
        "completed_at",
        "created_at",
        "updated_at",
    ),
    "twilio_number_pool": (
        "id",
        "phone_e164",
        "status",
        "client_id",
        "assigned_at",
        "monthly_cost_cents",
        "paid_through",
        "last_payment_at",
        "created_at",
        "updated_at",
    ),
    "lifecycle_campaign_schedules": (
        "id",
        "campaign_name",
        "round_number",
        "scheduled_date",
        "scheduled_time",
        "status",
        "mailjet_campaign_id",
        "recipient_count",
        "sent_at",
        "created_at",
        "updated_at",
    ),
    "lifecycle_notification_logs": (
        "id",
        "campaign_schedule_id",
        "stage",
        "status",
        "channel",
        "scheduled_for",
        "sent_at",
        "created_at",
    ),
    # 0035: leads due for de-enrollment, kept by a trigger on leads
    "de_enrollment_due_queue": ("lead_id", "client_id", "campaign_id", "enrolled_at", "due_since", "version"),
    # 0045: each lead's phone (E.164) and email (lower case); the compliance settings
    "lead_contacts": ("lead_id", "client_id", "phone_e164", "email_lower"),
    "compliance_settings": (
        "id",
        "phone_region",
        "phone_calling_code",
        "phone_national_prefix",
        "updated_at",
    ),
    "compliance_client_settings": ("client_id", "revoke_all_enrollments", "changed_by", "reason", "updated_at"),
    # 0044: messages sent after revocation, recorded by a trigger on leads
    "compliance_sends_after_revocation": (
        "id",
        "lead_id",
        "client_id",
        "campaign_id",
        "enrolled_at",
        "old_position",
        "new_position",
        "sent_at",
        "revoked_as",
        "revoked_at",
        "de_enrolled_by_run",
    ),
    "lifecycle_campaign_metrics": (
        "id",
        "campaign_schedule_id",
        "processed",
        "delivered",
        "bounced",
        "opened",
        "clicked",
        "collected_at",
    ),
}
EXPECTED_VIEWS: dict[str, tuple[str, ...]] = {
    "de_enrollment_health": (
        "client_id",
        "company_name",
        "total_runs_24h",
        "successful_runs_24h",
        "failed_runs_24h",
        "partial_runs_24h",
        "success_rate_24h",
        "avg_duration_ms_24h",
        "leads_de_enrolled_24h",
        "last_run_at",
        "last_success_at",
        "hours_since_success",
    ),
    # archival: the lead history over live and archived rows
    "de_enrollment_lead_history": (
        "log_id",
        "run_id",
        "run_at",
        "lead_id",
        "client_id",
        "campaign_id",
        "enrolled_at",
        "action",
        "outcome",
        "messages_received",
        "error_message",
        "processed_at",
        "archived_at",
    ),
    # the de-enrollment guard's events per enrollment, live and archived (0028)
    "de_enrollment_guard_events": (
        "id",
        "run_id",
        "lead_id",
        "client_id",
        "campaign_id",
        "enrolled_at",
        "action",
        "outcome",
        "error_message",
        "processed_at",
    ),
    # 0036: the stuck-lead rule, written once
    "stuck_leads": ("lead_id", "client_id", "campaign_id", "campaign_name", "position", "sequence_length"),
}
EXPECTED_FUNCTIONS: tuple[str, ...] = (
    "client_lock_key",
    "refresh_campaign_counters",
    "de_enroll_client_leads",
    "get_leads_for_de_enrollment",
    "process_de_enrollment_batch",
    # reconciliation
    "campaign_counter_drift",
    # 0034: the set-based de-enrollment of many clients' leads in one statement (0037, 0038 and 0040 replace its
    # body: one read, the guard's gate, run ids carried by the scan)
    "de_enroll_leads",
    # 0035: the rule's lead-side part and the trigger that marks due leads
    "de_enrollment_lead_due",
    "de_enrollment_mark_due",
    # 0044: sends after revocation recorded; the leads' campaign sequence length kept on write
    "compliance_record_send_after_revocation",
    "campaign_sequence_length",
    "leads_set_sequence_length",
    "campaigns_propagate_sequence_length",
    # 0045: a revocation covers the person; leads found by phone or email
    "phone_e164",
    "lead_contacts_keep",
    "lead_contacts_keep_inserted",
    "compliance_revoke_person",
)
EXPECTED_INDEXES: tuple[str, ...] = (
    "campaigns_client_id_idx",
    "leads_client_id_idx",
    "leads_campaign_link_id_idx",
    "leads_de_enrollment_candidates_idx",
    "de_enrollment_runs_client_run_at_idx",
    "de_enrollment_runs_run_at_idx",
    "de_enrollment_lead_log_run_id_idx",
    "de_enrollment_lead_log_lead_id_idx",
    "de_enrollment_lead_log_processed_at_idx",
    "alert_logs_alert_type_idx",
    "alert_logs_delivered_at_idx",
    # reconciliation, archival adds its indexes below this line
    "stats_reconciliation_log_client_time_idx",
    "stats_reconciliation_log_campaign_idx",
    "de_enrollment_runs_archive_client_run_at_idx",
    "de_enrollment_lead_log_archive_lead_id_idx",
    "de_enrollment_lead_log_archive_run_id_idx",
    "de_enrollment_lead_log_archive_client_processed_idx",
    "de_enrollment_lead_log_client_processed_idx",
    # alerts adds its indexes below this line
    "alert_silences_active_idx",
    "alert_logs_pending_idx",
    "alert_logs_open_idx",
    "alert_deliveries_alert_log_id_idx",
    "alert_deliveries_attempted_at_idx",
    "de_enrollment_runs_dagster_run_id_idx",
    "de_enrollment_runs_running_idx",
    # onboarding, lifecycle
    "onboarding_states_current_state_idx",
    "twilio_number_pool_status_idx",
    "lifecycle_notification_logs_schedule_idx",
    "lifecycle_campaign_metrics_schedule_idx",
    # 0035
    "de_enrollment_due_queue_client_idx",
    # 0044
    "compliance_sends_after_revocation_client_sent_idx",
    "compliance_sends_after_revocation_lead_idx",
    "compliance_sends_after_revocation_sent_idx",
    # 0045
    "lead_contacts_phone_idx",
    "lead_contacts_email_idx",
)


@dataclass(frozen=True)
class VerifyItem:
    kind: str
    name: str
    ok: bool


def verify_schema(conn: Connection) -> list[VerifyItem]:
    """One item per expected object, in a stable order; `ok` says whether the live database has it."""
    columns = {
        (t, c)
        for t, c in conn.execute(
            text("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()")
        )
    }
    relations: dict[str, str] = dict(
        conn.execute(
            text("SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace")
        ).all()
    )
    functions = set(
        conn.execute(
            text("SELECT p.proname FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace")
        ).scalars()
    )
    items: list[VerifyItem] = []
    for table, cols in EXPECTED_COLUMNS.items():
        items.append(VerifyItem("table", table, relations.get(table) in ("r", "p")))
        items.extend(VerifyItem("column", f"{table}.{col}", (table, col) in columns) for col in cols)
    for view, cols in EXPECTED_VIEWS.items():
        items.append(VerifyItem("view", view, relations.get(view) in ("v", "m")))
        items.extend(VerifyItem("column", f"{view}.{col}", (view, col) in columns) for col in cols)
    items.extend(VerifyItem("function", name, name in functions) for name in EXPECTED_FUNCTIONS)
    items.extend(VerifyItem("index", name, relations.get(name) == "i") for name in EXPECTED_INDEXES)
    return items
