"""0020 (SOP): v2 campaign fields (state and counters) and the hot-path indexes."""

from campaign_ops.db.migrations import sql_revision

revision, down_revision, upgrade, downgrade = sql_revision(__file__)
