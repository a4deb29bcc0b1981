"""0022: alert de-duplication log (the hardening report): one row per (alert_type, alert_key)."""

from campaign_ops.db.migrations import sql_revision

revision, down_revision, upgrade, downgrade = sql_revision(__file__)
