"""0027: lifecycle campaign schedules, notification logs and metrics (the implementation review)."""

from campaign_ops.db.migrations import sql_revision

revision, down_revision, upgrade, downgrade = sql_revision(__file__)
