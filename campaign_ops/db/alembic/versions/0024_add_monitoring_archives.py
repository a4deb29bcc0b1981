"""0024: archives of de_enrollment_runs and de_enrollment_lead_log, and the de_enrollment_lead_history view"""

from campaign_ops.db.migrations import sql_revision

revision, down_revision, upgrade, downgrade = sql_revision(__file__)
