"""0001: base tables of the outreach platform (clients, campaigns, leads)."""

from campaign_ops.db.migrations import sql_revision

revision, down_revision, upgrade, downgrade = sql_revision(__file__)
