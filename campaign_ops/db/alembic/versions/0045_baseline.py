"""0045: the baseline: what campaign-ops added to the SOP schema, with its objects under sql/objects/."""

from campaign_ops.db.migrations import sql_revision

revision, down_revision, upgrade, downgrade = sql_revision(__file__)
