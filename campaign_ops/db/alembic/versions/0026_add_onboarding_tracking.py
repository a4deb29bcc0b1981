"""0026: client onboarding pipeline states, onboarding_states, client payment and phone, number pool."""

from campaign_ops.db.migrations import sql_revision

revision, down_revision, upgrade, downgrade = sql_revision(__file__)
