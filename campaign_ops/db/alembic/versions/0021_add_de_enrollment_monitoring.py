"""0021 (SOP): de-enrollment monitoring tables, the SQL functions operators' runbooks call, and the health view."""

from campaign_ops.db.migrations import sql_revision

revision, down_revision, upgrade, downgrade = sql_revision(__file__)
