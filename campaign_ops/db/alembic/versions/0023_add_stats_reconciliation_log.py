"""0023: stats reconciliation log and the campaign_counter_drift function."""

from campaign_ops.db.migrations import sql_revision

revision, down_revision, upgrade, downgrade = sql_revision(__file__)
