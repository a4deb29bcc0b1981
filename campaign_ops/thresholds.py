"""The SOP's and the hardening report's thresholds, written once.

The asset checks take their config defaults from here (campaign_ops/checks), the alerts read the lines a check
evaluation published or, for the few conditions no check evaluates, these values (campaign_ops/alerts,
campaign_ops/critical_alerts), and the reports compare their figures with them (campaign_ops/reports). Changing
a line here changes it everywhere; a run may still override a check's line in its config, and the alert then
says the line that check used.
"""

# SOP "Monitoring & Health Checks" (key metrics table) ---------------------------------------------------------
STUCK_LEADS_WARN_ABOVE = 100
"""Stuck leads (active, not completed, at or past the end of their sequence) above this: WARNING."""
STUCK_LEADS_ERROR_ABOVE = 500
"""Stuck leads above this: ERROR (SOP response: within 15 minutes, run a manual de-enrollment)."""
SUCCESS_RATE_WARN_BELOW_PCT = 95.0
"""A client's 24 h success rate below this percentage: WARNING."""
FAILED_RUNS_WARN_ABOVE = 5
"""A client's failed runs in 24 h above this: WARNING."""
HOURS_SINCE_SUCCESS_ERROR_ABOVE = 2.0
"""Hours since a client's last successful de-enrollment above this: ERROR ("no runs in 2 hours")."""
AVG_DURATION_WARN_ABOVE_MS = 4 * 60 * 1000
"""A client's average processing time over 24 h above this (4 minutes): WARNING."""

# SOP "Campaign Stats Drift" and Level 3 "Assess Damage" --------------------------------------------------------
STATS_DRIFT_WARN_ABOVE = 5
"""A campaign counter that differs from its leads by more than this has drifted (WARNING)."""
STATS_DRIFT_ERROR_ABOVE = 10
"""A difference above this is critical (ERROR)."""
DUPLICATES_ERROR_ABOVE = 0
"""Any duplicated de-enrollment is a data-integrity incident (ERROR)."""

# SOP "Morning Health Check", expected results ------------------------------------------------------------------
EXPECTED_RUNS_PER_CLIENT = 96
"""4 runs per hour x 24 hours."""
EXPECTED_SUCCESS_RATE_ABOVE_PCT = SUCCESS_RATE_WARN_BELOW_PCT
"""">95%": the same line as the WARNING one of the metrics table."""
EXPECTED_FAILED_BELOW = 5
EXPECTED_STUCK_BELOW = 50

# the hardening report's critical alerts -------------------------------------------------------------------------
PAYMENT_BLOCK_HOURS = 2.0
"""A client in S5_CONFIRM_LIVE without payment for longer than this: PAYMENT_BLOCK."""
REPEATED_FAILURES = 5
"""A client's last this-many de-enrollment passes all failed: REPEATED_FAILURE ..."""
REPEATED_FAILURE_WINDOW_MINUTES = 120
"""... the first and the last of them within this window (counted in passes: several sweep cadences)."""

# event-driven de-enrollment (the due queue) ----------------------------------------------------------------------
LATENCY_P95_WARN_ABOVE_SECONDS = 120.0
"""The p95 of due -> de-enrolled over the last hour above this (2 minutes): WARNING."""

# stop processing immediately (SOP Level 3) ------------------------------------------------------------------------
PAUSE_WRITERS_WAIT_SECONDS = 30.0
"""`pause` waits at most this long for the sessions writing when it was recorded to stop (a de-enrollment group
commits within its budget; a pass stops at its next chunk), then names those still writing."""

# a client whose lock another session holds (a crashed worker's statement still running, a reconciliation) --------
CLIENT_LOCK_RETRY_SECONDS = 10.0
"""A de-enrollment sweep retries such a client after all the others, waiting at most this long in all for its lock
(a killed worker's statement goes on in the server for a few seconds); only then is it recorded `skipped`, with
the session holding the lock."""

# on call ------------------------------------------------------------------------------------------------------------
ACK_MINUTES = 30
"""An ERROR alert nobody acknowledged for this long pages the person on call by SMS (ALERT_ACK_MINUTES)."""
ALERT_SENSOR_STALE_INTERVALS = 3
"""An alert sensor that has not ticked for this many of its intervals (plus two minutes) is late: alerting broken."""
ALERT_RETRY_STUCK_ATTEMPTS = 5
"""A message that failed this many times in a row is stuck in retry: alerting broken."""
ALERT_RETRY_OVERDUE_MINUTES = 15
"""A retry due this long ago and not attempted is stuck: no tick is retrying it."""

# compliance: revocations (opt-outs) honored, and nothing sent after them ------------------------------------------
SENDS_AFTER_REVOCATION_WINDOW_HOURS = 24
"""messages_after_opt_out fails (ERROR) while a message sent after revocation was recorded within this window."""
UNHONORED_OPT_OUT_WARN_ABOVE_SECONDS = 5 * 60
"""The oldest opt-out still not honored (its lead still active) older than this (5 minutes): WARNING."""
UNHONORED_OPT_OUT_ERROR_ABOVE_SECONDS = 60 * 60
"""... older than this (1 hour): ERROR."""
